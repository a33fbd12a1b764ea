//! Logging for the binaries: `tracing-subscriber` with `RUST_LOG` filter directives and an
//! optional JSON format.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `RUST_LOG` | [`EnvFilter`] directives, e.g. `info,auth_layer=debug` | `info` |
//! | `LOG_LEVEL` | a bare level, read only when `RUST_LOG` is unset (kept for compatibility) | — |
//! | `LOG_FORMAT` | `json` for one JSON object per line; `text` | `text` |
//!
//! Logs go to stderr. No log line ever carries a token or a secret: the libraries log reasons
//! (the validator's operator text), never token content.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The log line format, from `LOG_FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line (`LOG_FORMAT=json`), for log collectors.
    Json,
}

impl LogFormat {
    /// Reads `LOG_FORMAT`: `json` (any case) is [`LogFormat::Json`], anything else text.
    pub fn from_env() -> Self {
        Self::parse(std::env::var("LOG_FORMAT").ok().as_deref())
    }

    fn parse(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The filter: `RUST_LOG` when set (invalid directives are reported on stderr and skipped),
/// else `LOG_LEVEL` as a bare level, else `info`.
pub fn filter_from_env() -> EnvFilter {
    filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("LOG_LEVEL").ok().as_deref(),
    )
}

fn filter_from(rust_log: Option<&str>, log_level: Option<&str>) -> EnvFilter {
    let directives = match (rust_log, log_level) {
        (Some(directives), _) if !directives.trim().is_empty() => directives.to_owned(),
        (_, Some(level)) if level.trim().parse::<tracing::Level>().is_ok() => {
            level.trim().to_ascii_lowercase()
        }
        _ => "info".to_owned(),
    };
    EnvFilter::builder()
        .with_default_directive(tracing::Level::INFO.into())
        .parse_lossy(directives)
}

/// Sets up `tracing` for a binary (see the module docs). Calling it twice is harmless.
pub fn init() {
    let filter = filter_from_env();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let _ = match LogFormat::from_env() {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(true)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_directives_win_over_log_level() {
        let filter = filter_from(Some("warn,auth_layer=debug"), Some("trace"));
        let text = filter.to_string();
        assert!(
            text.contains("auth_layer=debug") && text.contains("warn"),
            "{text}"
        );
    }

    #[test]
    fn log_level_is_read_when_rust_log_is_unset() {
        assert_eq!(filter_from(None, Some("DEBUG")).to_string(), "debug");
        assert_eq!(filter_from(None, Some("loud")).to_string(), "info");
        assert_eq!(filter_from(None, None).to_string(), "info");
    }

    #[test]
    fn log_format_json_is_opt_in() {
        assert_eq!(LogFormat::parse(Some("JSON")), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("text")), LogFormat::Text);
        assert_eq!(LogFormat::parse(None), LogFormat::Text);
    }
}
