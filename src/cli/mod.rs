//! The command line: `serve`, `check`, `keygen`, `pubkey`, `simulate`, and `health` and `reload` for a
//! running gateway.

pub(crate) mod check;
mod directory;
mod health;
mod keys;
mod keytab;
mod reload;
pub(crate) mod report;
mod running;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand};

pub use check::check;

/// Environment variable naming the configuration file when `-c` is not given.
pub const CONFIG_ENV: &str = "FRESHGATE_CONFIG";
pub const DEFAULT_CONFIG: &str = "gateway.yaml";

const EXAMPLES: &str = "\
Examples:
  # Make the key Freshworks verifies tokens with:
  freshgate keygen --out certs/freshworks-signing.key
  # Validate everything, print what to paste into Freshworks:
  freshgate check -c gateway.yaml
  # Run the gateway:
  freshgate serve -c gateway.yaml
  FRESHGATE_CONFIG=/etc/freshgate/gateway.yaml freshgate serve
  # Try the login without touching Freshworks:
  freshgate simulate -c gateway.yaml --account demo
  # Print the public key of a signing key:
  freshgate pubkey --key certs/freshworks-signing.key --pem
  # Is the running gateway ready? Reload its configuration:
  freshgate health -c gateway.yaml
  freshgate reload -c gateway.yaml

Documentation: README.md and docs/configuration.md";

#[derive(Debug, Parser)]
#[command(
    name = "freshgate",
    version,
    about = "Log Freshworks agents in through your OpenID Connect provider (Keycloak, Okta, Entra ID, ...)",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Configuration file [default: $FRESHGATE_CONFIG, else ./gateway.yaml]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    /// `-c`, else `FRESHGATE_CONFIG`, else `./gateway.yaml`.
    pub fn path(&self) -> PathBuf {
        self.config
            .clone()
            .or_else(|| {
                std::env::var_os(CONFIG_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway
    #[command(after_help = "Example:\n  freshgate serve -c /etc/freshgate/gateway.yaml")]
    Serve(ConfigArg),
    /// Validate the configuration, keys and certificates, contact the provider, and print the values to
    /// paste into Freshworks
    #[command(
        after_help = "Examples:\n  freshgate check -c gateway.yaml\n  freshgate check -c gateway.yaml --test-user jdoe\n\nExit status 0 when everything is in order, 1 when anything is not."
    )]
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// Look this user up in the directory with the configured filter and show the entry, its claims,
        /// groups and account state (no password needed)
        #[arg(long, value_name = "NAME")]
        test_user: Option<String>,
    },
    /// Write a new RSA signing key (PKCS#8 PEM, mode 0600) and print its public key
    #[command(
        after_help = "Example:\n  freshgate keygen --bits 3072 --out /run/secrets/freshworks-signing.key"
    )]
    Keygen {
        /// Key size in bits
        #[arg(long, default_value = "2048", value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"]).map(|s: String| s.parse::<usize>().unwrap_or(2048)))]
        bits: usize,
        /// Where to write the private key; an existing file is never overwritten
        #[arg(long, value_name = "PATH", default_value = "freshworks-signing.key")]
        out: PathBuf,
    },
    /// Play Freshworks' part against a running gateway: a portal page whose "Log in" starts a JWT SSO login,
    /// and a check of the token that comes back
    #[command(
        after_help = "Example:\n  freshgate simulate -c examples/demo.yaml --account demo\n\nThe account's redirect_url must point at the simulator, e.g. http://127.0.0.1:9911/sso/callback (docs/simulate.md)."
    )]
    Simulate {
        #[command(flatten)]
        config: ConfigArg,
        /// The account (as in freshworks.accounts) to log in to [default: the one whose redirect_url is on this machine]
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Address to serve the portal on [default: host and port of the account's redirect_url]
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Which request shape the "Log in" button sends
        #[arg(long, value_enum, default_value = "current")]
        shape: crate::simulate::Shape,
        /// Verify tokens with this public key (PEM, or the base64 body pasted into Freshworks) instead of the
        /// public half of freshworks.signing_key_file
        #[arg(long, value_name = "PATH")]
        public_key: Option<PathBuf>,
    },
    /// Ask a running gateway's /readyz (on the admin listener of the configuration): exit 0 when it is
    /// ready, 1 with the reasons when it is not or does not answer
    #[command(
        after_help = "Examples:\n  freshgate health -c /etc/freshgate/gateway.yaml\n  freshgate health --url http://127.0.0.1:9901/healthz\n\nOnly admin_listen is read from the configuration (a wildcard address is asked on loopback). Without -c, $FRESHGATE_CONFIG or ./gateway.yaml, it asks http://127.0.0.1:9901/readyz. The container image's HEALTHCHECK runs it."
    )]
    Health {
        #[command(flatten)]
        config: ConfigArg,
        /// Ask this plain-http URL instead of /readyz on the configuration's admin listener
        #[arg(long, value_name = "URL", conflicts_with = "config")]
        url: Option<String>,
        /// Give up and report "not ready" after this long
        #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = duration)]
        timeout: Duration,
    },
    /// Make a running gateway reload its configuration (SIGHUP) and say whether the reload applied
    #[command(
        after_help = "Examples:\n  freshgate reload\n  freshgate reload -c /etc/freshgate/gateway.yaml\n  freshgate reload --pid 4242\n\nWithout --pid it signals the one `freshgate serve` of this user (with -c, the one serving that file; in a container, the gateway is PID 1). When that gateway's admin listener answers, it waits for freshgate_config_reloads_total to count the reload: exit 0 when it applied, 1 when it was refused (the running configuration keeps serving)."
    )]
    Reload {
        #[command(flatten)]
        config: ConfigArg,
        /// The gateway's process id
        #[arg(long, value_name = "PID")]
        pid: Option<u32>,
        /// How long to wait for the reload's result
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
        timeout: Duration,
    },
    /// Print the public key of an existing signing key (the body Freshworks' form wants, or PEM)
    #[command(
        after_help = "Examples:\n  freshgate pubkey -c gateway.yaml\n  freshgate pubkey --key certs/freshworks-signing.key --pem"
    )]
    Pubkey {
        #[command(flatten)]
        config: ConfigArg,
        /// Read this key file instead of `freshworks.signing_key_file` of the configuration
        #[arg(long, value_name = "PATH", conflicts_with = "config")]
        key: Option<PathBuf>,
        /// Print the public key as PEM instead of the bare base64 body
        #[arg(long)]
        pem: bool,
    },
}

/// A duration on the command line, written as in the configuration (`3s`, `500ms`).
fn duration(text: &str) -> Result<Duration, String> {
    crate::config::duration::parse(text).map_err(|problem| {
        format!(
            "`{text}` {problem}; write e.g. {}",
            crate::config::duration::EXAMPLES
        )
    })
}

/// Writes command output to stdout. A reader that has gone (`freshgate keygen | head`) is not an error, as
/// for other command-line tools: the rest of the output is dropped quietly instead of a panic in `println!`.
pub(crate) fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("freshgate: cannot write to stdout: {e}");
        }
        _ => {}
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(config) => crate::serve::main(&config.path()),
        Command::Check { config, test_user } => check::main(&config.path(), test_user.as_deref()),
        Command::Keygen { bits, out } => keys::keygen(bits, &out),
        Command::Pubkey { config, key, pem } => keys::pubkey(&config, key.as_deref(), pem),
        Command::Health {
            config,
            url,
            timeout,
        } => health::main(url.as_deref(), &config, timeout),
        Command::Reload {
            config,
            pid,
            timeout,
        } => reload::main(&config, pid, timeout),
        Command::Simulate {
            config,
            account,
            listen,
            shape,
            public_key,
        } => crate::simulate::main(crate::simulate::Options {
            config: &config.path(),
            account,
            listen,
            shape,
            public_key,
        }),
    }
}
