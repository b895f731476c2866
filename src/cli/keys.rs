//! `freshgate keygen` and `freshgate pubkey`.

use std::path::Path;
use std::process::ExitCode;

use super::{ConfigArg, print_out};
use crate::config::{ProcessEnv, validate};
use crate::keys::{SigningKey, write_new_key};

pub fn keygen(bits: usize, out: &Path) -> ExitCode {
    match write_new_key(out, bits) {
        Ok((key, made)) => {
            let made: String = made
                .iter()
                .map(|dir| format!("Made the directory {} (mode 0700).\n", dir.display()))
                .collect();
            print_out(&format!(
                "{made}Wrote a new {bits}-bit RSA signing key to {} (mode 0600).\n\
                 Keep it secret: whoever holds it can log anyone in to Freshworks.\n\n\
                 Public key for Freshworks (Security > Single sign-on > JWT SSO > public key):\n{}\n\n\
                 Public key as PEM:\n{}",
                out.display(),
                key.public_key_body(),
                key.public_key_pem()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("freshgate keygen: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn pubkey(config: &ConfigArg, key: Option<&Path>, pem: bool) -> ExitCode {
    let path = match key {
        Some(path) => path.to_path_buf(),
        None => {
            let file = config.path();
            match validate::load(&file, &ProcessEnv) {
                Ok(config) => match config.freshworks {
                    Some(freshworks) => freshworks.signing_key_file,
                    None => {
                        eprintln!(
                            "freshgate pubkey: {} has no `freshworks` section, so no signing key; use --key PATH",
                            file.display()
                        );
                        return ExitCode::FAILURE;
                    }
                },
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    match SigningKey::load(&path) {
        Ok(key) => {
            if pem {
                print_out(&key.public_key_pem());
            } else {
                print_out(&format!("{}\n", key.public_key_body()));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("freshgate pubkey: {e}");
            ExitCode::FAILURE
        }
    }
}
