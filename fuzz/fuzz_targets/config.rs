//! The configuration loader, the same entry `freshgate check` and `freshgate serve` use
//! (`config::validate::load` reads the file, then calls `load_str`), with an injected environment.
//!
//! The file is placed in a directory that does not exist, so relative `*_file` paths are never found;
//! absolute ones are only looked at and read (never written).
#![no_main]

use std::path::Path;

use freshgate::config::MapEnv;
use freshgate::config::validate::load_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` refuses a file that is not UTF-8 before parsing it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = MapEnv::new()
        .with("FRESHGATE_CLIENT_SECRET", "fuzz-client-secret")
        .with(
            "FRESHGATE_COOKIE_SECRET",
            "0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .with("PUBLIC_HOST", "sso.example.com")
        .with("PORT", "8443")
        .with("EMPTY", "");
    let source = Path::new("/nonexistent/freshgate-fuzz/gateway.yaml");
    match load_str(text, source, &env) {
        Ok(config) => {
            let _ = config.public("/sso/jwt/login");
        }
        Err(errors) => {
            assert!(
                !errors.errors.is_empty(),
                "a refusal names at least one problem"
            );
            assert_eq!(errors.file, source);
            let shown = errors.to_string();
            assert!(shown.starts_with(&source.display().to_string()), "{shown}");
        }
    }
});
