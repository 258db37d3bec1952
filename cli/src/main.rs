//! `jeco`: Jeco Chat from the command line. See `jeco --help`.
//!
//! A thin layer over [`jeco_client::Engine`]: every command builds the engine on the same data
//! directory (cache, outbox, tokens), gives it a few seconds to connect, does its work and shuts it
//! down. Reading commands work offline from the cache; writing commands go through the persistent
//! outbox, so a message written offline is sent by the next `jeco` that runs online.

#![forbid(unsafe_code)]

mod account;
mod admin;
mod app;
mod channels;
mod credentials;
mod follow;
mod output;
mod read;
mod resolve;
mod two_factor;
mod write;

use app::App;
use clap::{Args, Parser, Subcommand};
use output::Out;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "jeco",
    version,
    about = "Jeco Chat from the command line.",
    long_about = "Jeco Chat from the command line.\n\n\
        Conversations are named by id, #channel, group name or @username (the direct conversation \
        with that person). Reading commands work offline from the local cache; sends, edits, \
        deletes and reactions are queued and delivered the next time jeco runs online.\n\n\
        Example:\n  jeco register ada\n  jeco dm grace\n  jeco send @grace 'hello!'\n  \
        jeco follow"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Server address.
    #[arg(
        long,
        env = "JECO_SERVER",
        default_value = "http://127.0.0.1:7878",
        global = true,
        value_name = "URL"
    )]
    server: String,
    /// Where the cache, the outbox and the sign-in tokens are kept [default: the platform data
    /// directory, e.g. ~/.local/share/jeco-cli].
    #[arg(long, env = "JECO_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Machine output: one JSON document per command (`follow`: one JSON object per line).
    #[arg(long, global = true)]
    json: bool,
    /// Log to stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an account and sign in as it.
    Register {
        /// 3–32 characters of a-z 0-9 _ . -
        username: String,
        /// Name shown instead of the username.
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Sign in (with the password, or --email-code from `jeco login-code`). Accounts with
    /// two-factor are asked for the authenticator app's code (or give --code / --recovery-code).
    Login {
        /// Your username (or, with --email-code, your verified email address).
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Sign in with this code from a sign-in mail (`jeco login-code`) instead of the password.
        #[arg(long, value_name = "CODE")]
        email_code: Option<String>,
        #[command(flatten)]
        second: SecondFactorArgs,
    },
    /// Mail a 6-digit sign-in code to your verified address; on a terminal, then asks for it.
    LoginCode {
        /// Your username or verified email address.
        #[arg(value_name = "USERNAME_OR_EMAIL")]
        login: String,
        /// Only ask for the mail; sign in later with `jeco login LOGIN --email-code CODE`.
        #[arg(long)]
        no_prompt: bool,
        #[command(flatten)]
        second: SecondFactorArgs,
    },
    /// Two-factor authentication with an authenticator app: status, enable, disable,
    /// recovery-codes.
    TwoFactor {
        #[command(subcommand)]
        command: TwoFactorCommand,
    },
    /// Sign out (the local cache stays, with anything still queued, unless --forget).
    Logout {
        /// Also delete this account's local cache.
        #[arg(long)]
        forget: bool,
    },
    /// Change your password (the current one, then the new one).
    Password {
        /// Read the current password and the new one from the first two lines of stdin (else
        /// $JECO_PASSWORD and $JECO_NEW_PASSWORD, else prompts).
        #[arg(long)]
        password_stdin: bool,
        /// Also sign out every other session of your account.
        #[arg(long)]
        sign_out_others: bool,
    },
    /// Your email address; with one, mail it a verification code (then --verify CODE).
    Email {
        /// The new address.
        address: Option<String>,
        /// The 6-digit code from the mail.
        #[arg(long, value_name = "CODE", conflicts_with = "remove")]
        verify: Option<String>,
        /// Remove the address.
        #[arg(long)]
        remove: bool,
    },
    /// Ask for a password-reset token by mail (no sign-in needed).
    ForgotPassword {
        /// Your username or verified email address.
        #[arg(value_name = "USERNAME_OR_EMAIL")]
        login: String,
    },
    /// Set a new password with the token from the reset mail (no sign-in needed).
    ResetPassword {
        /// Read the token and the new password from the first two lines of stdin (else
        /// $JECO_RESET_TOKEN and $JECO_NEW_PASSWORD, else prompts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List your signed-in sessions (devices), or sign one out with --end.
    Sessions {
        /// Sign out the session with this id (from the list).
        #[arg(long, value_name = "ID")]
        end: Option<i64>,
    },
    /// Sign out every session of your account but this one.
    SignOutOthers,
    /// Download everything you wrote — profile, messages, files — as one zip ("export my data").
    /// Other people's messages are not in it.
    Export {
        /// Where to save the zip (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Who is signed in, the connection, the cache and the outbox.
    Status,
    /// List conversations with unread and mention counts.
    #[command(visible_alias = "ls")]
    Conversations,
    /// Create a group room.
    CreateGroup {
        /// The room's name.
        name: String,
        /// Add this user (repeatable).
        #[arg(long = "member", value_name = "USERNAME")]
        members: Vec<String>,
    },
    /// Open (or find) the direct conversation with a user.
    Dm {
        /// The other person (with or without @).
        username: String,
    },
    /// Join a team with an invite code.
    Join {
        /// Invite codes are base64url, so one in 64 starts with `-`: it is still the code.
        #[arg(value_name = "INVITE_CODE", allow_hyphen_values = true)]
        code: String,
    },
    /// Browse channels: every team's (or one team's), with topic, members and whether you are in.
    Channels {
        /// Only this team (name or id).
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
    },
    /// Create a channel in a team; you are in it at once.
    CreateChannel {
        /// The channel's name (with or without #).
        name: String,
        /// The team (name or id); needed when you are in several.
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
        /// What the channel is about.
        #[arg(long, value_name = "TEXT")]
        topic: Option<String>,
        /// Only people added can see it.
        #[arg(long)]
        private: bool,
    },
    /// Join a public channel of one of your teams.
    JoinChannel {
        /// #name, name or id (`jeco channels` lists them).
        channel: String,
        /// The team (name or id), when several have a channel of that name.
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
    },
    /// Leave a channel or group (a team's #general is left by leaving the team).
    Leave {
        /// Id, #channel or group name.
        conversation: String,
    },
    /// Send a message (text from the arguments, or all of stdin when there are none or it is `-`).
    Send {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// The message (words are joined by spaces); none, or `-`, reads it from stdin.
        text: Vec<String>,
        /// Reply in the thread of this message (shown in the channel too, unless --thread-only).
        #[arg(long, value_name = "MESSAGE_ID")]
        reply_to: Option<i64>,
        /// With --reply-to: keep the reply in the thread, out of the channel's history.
        #[arg(long, requires = "reply_to")]
        thread_only: bool,
        /// Attach a file (repeatable); the text may then be empty.
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<std::path::PathBuf>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Save a message's attachments (through the local media cache) into a directory.
    Download {
        /// The conversation the message is in.
        conversation: String,
        /// The message's id.
        message: i64,
        /// Where to put the files.
        #[arg(long, default_value = ".", value_name = "DIR")]
        out: std::path::PathBuf,
        /// Save the images' thumbnails instead of the files.
        #[arg(long)]
        thumbnail: bool,
    },
    /// Show a conversation's messages, oldest first.
    History {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// How many messages.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only messages before this seq (page back through history).
        #[arg(long, value_name = "SEQ")]
        before: Option<i64>,
    },
    /// Show a thread: its root and every reply, those kept out of the channel included.
    Thread {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// The root message's id (`history` shows it).
        root: i64,
    },
    /// Print new messages as they arrive (all conversations, or one) until Ctrl-C.
    Follow {
        /// Only this conversation (id, #channel, group name or @username).
        conversation: Option<String>,
    },
    /// Search messages (the local cache, plus the server when online).
    Search {
        /// Jeco's search language: words (all must occur; the last one may be a prefix),
        /// "phrases", prefix*, OR/NOT, and the filters from:@user, in:#channel,
        /// before:YYYY-MM-DD, after:YYYY-MM-DD (UTC, the day itself excluded) and has:file.
        query: String,
        /// Only in this conversation.
        #[arg(long = "in", value_name = "CONVERSATION")]
        conversation: Option<String>,
        /// How many results.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Add (or --remove) a reaction.
    React {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// The message id (`history` shows it), or the client id of a pending message.
        message_id: String,
        emoji: String,
        /// Remove the reaction instead.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Replace a message's text.
    Edit {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// The message id (`history` shows it), or the client id of a pending message.
        message_id: String,
        /// The new text.
        text: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a message.
    Delete {
        /// Id, #channel, group name or @username.
        conversation: String,
        /// The message id (`history` shows it), or the client id of a pending message.
        message_id: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List queued and failed changes; retry or discard one.
    Outbox {
        /// Retry a failed item (and wait for its delivery).
        #[arg(long, value_name = "ID", conflicts_with = "discard")]
        retry: Option<i64>,
        /// Drop an item (and whatever was queued against a dropped send).
        #[arg(long, value_name = "ID")]
        discard: Option<i64>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Connect, deliver the outbox, catch up, exit (non-zero when the server cannot be reached).
    Sync {
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List notifications, newest first.
    Notifications {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Server administration (server admins only).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// List accounts: id, username, display name, admin/deactivated, last active, email.
    Users {
        /// Only those whose username, display name or email starts with this.
        query: Option<String>,
    },
    /// Deactivate an account: it cannot sign in, every session of it ends at once.
    Deactivate { username: String },
    /// Let a deactivated account sign in again.
    Reactivate { username: String },
    /// Set an account's password (prompted, --password-stdin or $JECO_PASSWORD), or --mail it a
    /// reset token; every session of it ends.
    SetPassword {
        username: String,
        /// Mail a reset token to the account's verified address instead.
        #[arg(long)]
        mail: bool,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Make an account a server admin.
    Grant { username: String },
    /// Remove an account's server-admin flag (never the last admin's).
    Revoke { username: String },
    /// Turn off an account's two-factor (a lost phone); every session of it ends.
    ResetTwoFactor { username: String },
    /// Require two-factor of every account (`on`; sessions without it end), or not (`off`).
    /// Without a value, shows the setting.
    RequireTwoFactor {
        #[arg(value_parser = ["on", "off"])]
        setting: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TwoFactorCommand {
    /// Whether two-factor is on, and the recovery codes left.
    Status,
    /// Turn it on: prints the secret and an otpauth:// URI for the app, asks for its code,
    /// prints the recovery codes (once). Not on a terminal (or --no-prompt): prints the secret
    /// only; then `jeco two-factor confirm CODE`.
    Enable {
        #[arg(long)]
        no_prompt: bool,
    },
    /// Finish `enable --no-prompt` with the app's current code; prints the recovery codes.
    Confirm { code: String },
    /// Turn it off, with a current code (--code) or the password.
    Disable {
        /// The app's current code; without it the password is asked for.
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// New recovery codes (the old ones stop working), with the app's current code.
    RecoveryCodes {
        /// The app's current code (else $JECO_TWO_FACTOR_CODE, else a prompt).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
}

/// The second sign-in factor, for scripts (else $JECO_TWO_FACTOR_CODE, else a prompt when the
/// server asks for one).
#[derive(Debug, Args)]
struct SecondFactorArgs {
    /// The authenticator app's current code.
    #[arg(long, value_name = "CODE", conflicts_with = "recovery_code")]
    code: Option<String>,
    /// One of your recovery codes instead.
    #[arg(long, value_name = "CODE")]
    recovery_code: Option<String>,
}

impl SecondFactorArgs {
    fn given(self) -> two_factor::Given {
        two_factor::Given {
            code: self.code,
            recovery_code: self.recovery_code,
        }
    }
}

#[derive(Debug, Args)]
struct PasswordArgs {
    /// Read the password from the first line of stdin (else $JECO_PASSWORD, else a prompt).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct WaitArgs {
    /// Seconds to wait for the server before leaving the change queued.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    wait: f64,
}

impl WaitArgs {
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.wait.clamp(0.0, 86_400.0))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let out = Out::new(cli.global.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return out.fail(&anyhow::Error::from(e)),
    };
    let result = runtime.block_on(async {
        let app = App::start(&cli.global.server, cli.global.data_dir.clone(), out)?;
        let result = run(&app, cli.command).await;
        app.engine.shutdown();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.fail(&e),
    }
}

async fn run(app: &App, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Register {
            username,
            display_name,
            password,
        } => {
            let password = account::read_password(password.password_stdin, true)?;
            account::register(app, &username, &password, display_name.as_deref()).await
        }
        Command::Login {
            username,
            password,
            email_code,
            second,
        } => match email_code {
            Some(code) => two_factor::with_code(app, &username, &code, second.given()).await,
            None => {
                let password = account::read_password(password.password_stdin, false)?;
                two_factor::login(app, &username, &password, second.given()).await
            }
        },
        Command::LoginCode {
            login,
            no_prompt,
            second,
        } => {
            use std::io::IsTerminal;
            let prompt = !no_prompt && std::io::stdin().is_terminal();
            two_factor::request_code(app, &login, prompt, second.given()).await
        }
        Command::TwoFactor { command } => match command {
            TwoFactorCommand::Status => two_factor::status(app).await,
            TwoFactorCommand::Enable { no_prompt } => {
                use std::io::IsTerminal;
                two_factor::enable(app, !no_prompt && std::io::stdin().is_terminal()).await
            }
            TwoFactorCommand::Confirm { code } => two_factor::confirm(app, &code).await,
            TwoFactorCommand::Disable { code, password } => {
                let password = match code {
                    Some(_) => None,
                    None => Some(account::read_password(password.password_stdin, false)?),
                };
                two_factor::disable(app, code, password).await
            }
            TwoFactorCommand::RecoveryCodes { code } => two_factor::recovery_codes(app, code).await,
        },
        Command::Logout { forget } => account::logout(app, forget).await,
        Command::Password {
            password_stdin,
            sign_out_others,
        } => {
            let (current, new) = credentials::read_change(password_stdin)?;
            credentials::change_password(app, &current, &new, sign_out_others).await
        }
        Command::Email {
            address,
            verify,
            remove,
        } => credentials::email(app, address.as_deref(), verify.as_deref(), remove).await,
        Command::ForgotPassword { login } => credentials::forgot_password(app, &login).await,
        Command::ResetPassword { password_stdin } => {
            let (token, new) = credentials::read_reset(password_stdin)?;
            credentials::reset_password(app, &token, &new).await
        }
        Command::Sessions { end } => credentials::sessions(app, end).await,
        Command::Admin { command } => match command {
            AdminCommand::Users { query } => admin::users(app, query.as_deref()).await,
            AdminCommand::Deactivate { username } => admin::set_active(app, &username, false).await,
            AdminCommand::Reactivate { username } => admin::set_active(app, &username, true).await,
            AdminCommand::SetPassword {
                username,
                mail,
                password,
            } => {
                let password = if mail {
                    None
                } else {
                    Some(account::read_password(password.password_stdin, true)?)
                };
                admin::set_password(app, &username, password.as_deref()).await
            }
            AdminCommand::Grant { username } => admin::set_admin(app, &username, true).await,
            AdminCommand::Revoke { username } => admin::set_admin(app, &username, false).await,
            AdminCommand::ResetTwoFactor { username } => {
                admin::reset_two_factor(app, &username).await
            }
            AdminCommand::RequireTwoFactor { setting } => {
                admin::require_two_factor(app, setting.as_deref().map(|s| s == "on")).await
            }
        },
        Command::SignOutOthers => credentials::sign_out_others(app).await,
        Command::Export { to } => credentials::export(app, &to).await,
        Command::Status => read::status(app).await,
        Command::Conversations => read::conversations(app).await,
        Command::CreateGroup { name, members } => account::create_group(app, &name, &members).await,
        Command::Dm { username } => account::dm(app, &username).await,
        Command::Join { code } => account::join(app, &code).await,
        Command::Channels { team } => channels::browse(app, team.as_deref()).await,
        Command::CreateChannel {
            name,
            team,
            topic,
            private,
        } => channels::create(app, &name, team.as_deref(), topic, private).await,
        Command::JoinChannel { channel, team } => {
            channels::join(app, &channel, team.as_deref()).await
        }
        Command::Leave { conversation } => channels::leave(app, &conversation).await,
        Command::Send {
            conversation,
            text,
            reply_to,
            thread_only,
            files,
            wait,
        } => {
            let reply = reply_to.map(|id| write::Reply {
                to: jeco_shared::MessageId(id),
                thread_only,
            });
            write::send(app, &conversation, text, reply, &files, wait.duration()).await
        }
        Command::Download {
            conversation,
            message,
            out,
            thumbnail,
        } => read::download(app, &conversation, message, &out, thumbnail).await,
        Command::History {
            conversation,
            limit,
            before,
        } => read::history(app, &conversation, limit, before).await,
        Command::Thread { conversation, root } => {
            read::thread(app, &conversation, jeco_shared::MessageId(root)).await
        }
        Command::Follow { conversation } => follow::follow(app, conversation.as_deref()).await,
        Command::Search {
            query,
            conversation,
            limit,
        } => read::search(app, &query, conversation.as_deref(), limit).await,
        Command::React {
            conversation,
            message_id,
            emoji,
            remove,
            wait,
        } => {
            let change = write::Change::React {
                emoji,
                add: !remove,
            };
            write::change(app, &conversation, &message_id, change, wait.duration()).await
        }
        Command::Edit {
            conversation,
            message_id,
            text,
            wait,
        } => {
            let change = write::Change::Edit { text };
            write::change(app, &conversation, &message_id, change, wait.duration()).await
        }
        Command::Delete {
            conversation,
            message_id,
            wait,
        } => {
            let change = write::Change::Delete;
            write::change(app, &conversation, &message_id, change, wait.duration()).await
        }
        Command::Outbox {
            retry,
            discard,
            wait,
        } => write::outbox(app, retry, discard, wait.duration()).await,
        Command::Sync { wait } => read::sync(app, wait.duration()).await,
        Command::Notifications { limit } => read::notifications(app, limit).await,
    }
}

/// Logs to stderr with -v (or when RUST_LOG is set); silent otherwise.
fn init_tracing(verbose: u8) {
    let from_env = std::env::var_os("RUST_LOG").is_some();
    if verbose == 0 && !from_env {
        return;
    }
    let default = match verbose {
        0 | 1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = if from_env && verbose == 0 {
        tracing_subscriber::EnvFilter::from_default_env()
    } else {
        tracing_subscriber::EnvFilter::new(default)
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invite code that starts with `-` (one in 64 do) is the code, not an unknown flag: CI
    /// once failed on `jeco join -KaaZFXnmGZgorRI`.
    #[test]
    fn an_invite_code_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from(["jeco", "join", "-KaaZFXnmGZgorRI"]).unwrap();
        assert!(matches!(cli.command, Command::Join { code } if code == "-KaaZFXnmGZgorRI"));
    }
}
