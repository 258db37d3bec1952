//! Password hashing with argon2id (the `argon2` crate's default parameters: 19 MiB, 2 passes, one
//! lane), on a small pool of dedicated hashing threads.
//!
//! Why a pool of its own: hashing is deliberately slow CPU work that needs 19 MiB of working memory
//! per hash. On tokio's blocking pool every burst of sign-ups or sign-ins ran on as many threads as
//! there were requests, each allocating its 19 MiB; glibc then kept the freed blocks in each
//! thread's arena, and the server sat at 0.5–1.3 GiB resident after 50–200 registrations
//! (BENCHMARKS.md, "Built-in server memory"). Here a fixed number of threads (one per core, at most
//! [`MAX_WORKERS`]) each own one memory buffer, allocated once and reused for every hash: the
//! memory that hashing can ever hold is `workers × 19 MiB`, requests beyond that wait their turn
//! in a queue (which they would have done for the CPU anyway), and the async workers that serve
//! everyone else are never stalled.
//!
//! The strings stored are ordinary PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`): hashes made
//! before this pool existed verify here, and hashes made here verify with any argon2 library.

use super::ServiceError;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most hashing threads, whatever the core count: each holds 19 MiB for good.
pub const MAX_WORKERS: usize = 4;

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, ServiceError> {
    run(Job::Hash(password)).await
}

/// Checks a password against a PHC string. `None` checks against a throwaway hash, so that a login
/// for an unknown user takes as long as one for a known user.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ServiceError> {
    let phc = match phc {
        Some(phc) => phc,
        None => dummy_hash().await?,
    };
    run(Job::Verify(password, phc)).await
}

/// One unit of work for a hashing thread, with the type of its answer.
enum Job {
    Hash(String),
    Verify(String, String),
}

/// What a job answers: a PHC string or a yes/no, depending on the job.
trait Answer: Sized + Send + 'static {
    fn take(reply: Reply) -> Result<Self, ServiceError>;
}

enum Reply {
    Hashed(String),
    Verified(bool),
}

impl Answer for String {
    fn take(reply: Reply) -> Result<Self, ServiceError> {
        match reply {
            Reply::Hashed(phc) => Ok(phc),
            Reply::Verified(_) => Err(ServiceError::Internal("hashing pool mixed answers".into())),
        }
    }
}

impl Answer for bool {
    fn take(reply: Reply) -> Result<Self, ServiceError> {
        match reply {
            Reply::Verified(ok) => Ok(ok),
            Reply::Hashed(_) => Err(ServiceError::Internal("hashing pool mixed answers".into())),
        }
    }
}

type Task = (Job, oneshot::Sender<Result<Reply, ServiceError>>);

async fn run<T: Answer>(job: Job) -> Result<T, ServiceError> {
    let (tx, rx) = oneshot::channel();
    pool()
        .send((job, tx))
        .await
        .map_err(|_| ServiceError::Internal("the hashing threads are gone".into()))?;
    let reply = rx
        .await
        .map_err(|_| ServiceError::Internal("a hashing thread stopped mid-job".into()))??;
    T::take(reply)
}

/// The queue in front of the hashing threads, started on first use.
fn pool() -> &'static mpsc::Sender<Task> {
    static POOL: OnceLock<mpsc::Sender<Task>> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, MAX_WORKERS);
        // Waiting requests hold only their password; the sign-in rate limits bound how many come.
        let (tx, rx) = mpsc::channel::<Task>(1024);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("jeco-hash-{i}"))
                .spawn(move || worker(&rx))
                .expect("starting a password hashing thread");
        }
        tx
    })
}

/// A hashing thread: takes jobs one at a time and reuses one working-memory buffer for all of them.
fn worker(queue: &Mutex<mpsc::Receiver<Task>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // Holding the lock while waiting is fine: the other threads wait for the lock instead.
        let next = match queue.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => return,
        };
        let Some((job, reply)) = next else { return };
        let answer = match job {
            Job::Hash(password) => hash_with(&mut memory, &password).map(Reply::Hashed),
            Job::Verify(password, phc) => {
                verify_with(&mut memory, &password, &phc).map(Reply::Verified)
            }
        };
        let _ = reply.send(answer);
    }
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("password hashing: {e}"))
}

/// The argon2 output for `password`, `salt` and `params`, computed in `memory` (grown when needed).
fn raw_hash(
    memory: &mut Vec<Block>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), ServiceError> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..blocks])
        .map_err(internal)
}

fn hash_with(memory: &mut Vec<Block>, password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(internal)?;
    let salt_string = SaltString::encode_b64(&salt).map_err(internal)?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    raw_hash(
        memory,
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password,
        &salt,
        &mut out,
    )?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(internal)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &str, phc: &str) -> Result<bool, ServiceError> {
    let parsed = PasswordHash::new(phc).map_err(internal)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(internal)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(internal)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(internal)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(internal("stored hash has no salt or no output"));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(internal)?;
    let mut out = vec![0u8; expected.len()];
    // The stored output length decides the length computed (the crate's own verifier does this too).
    let params = {
        let mut b = argon2::ParamsBuilder::new();
        b.m_cost(params.m_cost())
            .t_cost(params.t_cost())
            .p_cost(params.p_cost())
            .output_len(expected.len());
        b.build().map_err(internal)?
    };
    raw_hash(memory, algorithm, version, params, password, salt, &mut out)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(internal)? == expected)
}

async fn dummy_hash() -> Result<String, ServiceError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash("not a real password, only for timing".into()))
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    /// Hashes stored before the pool (made by the crate's own hasher) still verify, and the pool's
    /// hashes verify with the crate's own verifier: the stored format did not change.
    #[tokio::test]
    async fn compatible_with_the_argon2_crate_both_ways() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let old = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify("battery staple".into(), Some(old.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("battery stapler".into(), Some(old)).await.unwrap());

        let new = hash("battery staple".into()).await.unwrap();
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"battery staple", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"battery stapl", &parsed)
                .is_err()
        );
    }

    /// Many hashes at once all finish, on no more threads than the pool has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_queues_on_the_pool() {
        let jobs: Vec<_> = (0..12)
            .map(|i| tokio::spawn(hash(format!("password number {i}"))))
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            let phc = job.await.unwrap().unwrap();
            assert!(
                verify(format!("password number {i}"), Some(phc))
                    .await
                    .unwrap()
            );
        }
        let threads = std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|name| name.starts_with("jeco-hash-"))
                    .count()
            })
            .unwrap_or(0);
        assert!(
            (1..=MAX_WORKERS).contains(&threads) || !cfg!(target_os = "linux"),
            "{threads} hashing threads"
        );
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        assert!(
            verify("x".into(), Some("not a phc string".into()))
                .await
                .is_err()
        );
    }
}
