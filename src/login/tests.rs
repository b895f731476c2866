//! The seam's own rules: how old a pending login may be, by a clock the test moves, and which side
//! finishes a login.

use std::path::Path;

use super::*;
use crate::clock::ManualClock;
use crate::config::MapEnv;
use crate::login::pending::Method;

fn login_on(clock: Arc<ManualClock>) -> Login {
    let yaml = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secret: not-a-real-secret
";
    let config = crate::config::validate::load_str(yaml, Path::new("gateway.yaml"), &MapEnv::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let metrics = Arc::new(Metrics::new());
    Login::new(
        Arc::new(config),
        &[1; 32],
        None,
        None,
        Forwarding::new(vec![], false),
        Arc::new(crate::store::Shared::memory(metrics.clone())),
        metrics,
    )
    .with_clock(clock)
}

#[test]
fn a_pending_login_is_refused_once_older_than_the_login_timeout_and_not_before() {
    let clock = Arc::new(ManualClock::at_unix_ms(1_767_225_600_250));
    let login = login_on(clock.clone());
    let return_to = "https://app.example.com/chat".to_owned();
    let pending = login.new_pending(Method::Password, Target::Webchat { return_to });
    let restart = login.restart_url(&pending);
    assert_eq!(restart.as_deref(), Some("https://app.example.com/chat"));
    assert!(login.check_age(&pending, &restart, "clear").is_ok());
    clock.advance(DEFAULT_LOGIN_TIMEOUT);
    assert!(login.check_age(&pending, &restart, "clear").is_ok());
    clock.advance(Duration::from_secs(1));
    let (error, clear) = login.check_age(&pending, &restart, "clear").unwrap_err();
    assert!(
        matches!(&error, SsoError::ExpiredLogin { restart: Some(url), minutes: 10 } if url == "https://app.example.com/chat"),
        "{error:?}"
    );
    assert_eq!(clear.as_deref(), Some("clear"));
}

struct Side;

impl Finisher for Side {
    fn any_missing(&self, _: &Map<String, Value>, _: EmailVerified) -> bool {
        false
    }

    fn required_missing(&self, _: &Map<String, Value>) -> bool {
        false
    }

    fn finish(
        &self,
        _: &PendingLogin,
        _: &Identified,
        _: RequestId,
        _: &Attempt,
    ) -> Result<Finished, SsoError> {
        Err(SsoError::MissingCode)
    }
}

#[test]
fn a_login_is_finished_only_by_the_side_its_target_names_and_that_side_is_set_up() {
    let freshworks = Target::Freshworks {
        account: "12344".into(),
        state: "s".into(),
        nonce: "n".into(),
    };
    let webchat = Target::Webchat {
        return_to: "https://app.example.com/".into(),
    };
    let only_freshworks = Finishers {
        freshworks: Some(&Side),
        webchat: None,
    };
    assert!(only_freshworks.of(&freshworks).is_ok());
    assert!(matches!(
        only_freshworks.of(&webchat),
        Err(SsoError::NotConfigured {
            feature: "Web Chat sign-in"
        })
    ));
    let only_webchat = Finishers {
        freshworks: None,
        webchat: Some(&Side),
    };
    assert!(only_webchat.of(&webchat).is_ok());
    assert!(matches!(
        only_webchat.of(&freshworks),
        Err(SsoError::NotConfigured {
            feature: "Freshworks sign-in"
        })
    ));
}
