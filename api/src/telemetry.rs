//! Logging: an `EnvFilter` (`RUST_LOG` overrides `APP_LOG__FILTER`) and a pretty or JSON formatter.
//! Never log tokens, secrets or personal data.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogSettings;

pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.as_str()));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if settings.format == "json" {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
}
