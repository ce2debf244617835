//! Prints the GraphQL schema (SDL) without touching a database: `make schema`.

fn main() {
    print!("{}", api::graphql::sdl());
}
