//! The `api` binary: see `api --help`.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
