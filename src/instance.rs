//! Who this process is among a deployment's instances: a name that survives a restart, so a
//! restarted instance recognises the bot leases it held and resumes its bots at once instead
//! of waiting for them to expire.
//!
//! `INSTANCE_ID` when the platform gives one; else a name kept in `DATA_DIR/instances/`, in the
//! first slot whose lock is free. The lock is held as long as the process lives, so two
//! processes sharing a data folder get different names, and a process killed outright frees
//! its slot for the one that replaces it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Slots tried before giving up (more instances than this on one data folder is a mistake).
const SLOTS: usize = 64;

/// This process's name, and the lock that keeps it ours.
#[derive(Debug)]
pub struct Instance {
    name: String,
    _slot: Option<File>,
}

impl Instance {
    /// The configured name, or the first free slot's name under `data_dir` (made on first use).
    pub fn resolve(configured: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(name) = configured {
            return Ok(Self {
                name: name.to_owned(),
                _slot: None,
            });
        }
        let folder = data_dir.join("instances");
        std::fs::create_dir_all(&folder)?;
        for slot in 1..=SLOTS {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(folder.join(format!("slot-{slot}")))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(e)) => return Err(e),
            }
            let mut name = String::new();
            file.read_to_string(&mut name)?;
            let name = name.trim().to_owned();
            if !name.is_empty() {
                return Ok(Self {
                    name,
                    _slot: Some(file),
                });
            }
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "instance".to_owned());
            let name = format!("{host}:{slot}:{:08x}", rand::random::<u32>());
            file.rewind()?;
            file.write_all(name.as_bytes())?;
            file.sync_all()?;
            return Ok(Self {
                name,
                _slot: Some(file),
            });
        }
        Err(std::io::Error::other(format!(
            "all {SLOTS} instance slots in {} are taken",
            folder.display()
        )))
    }

    /// The name, as bot leases record their holder.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_survives_a_restart_and_two_live_processes_differ() {
        let dir = tempfile::tempdir().unwrap();
        let first = Instance::resolve(None, dir.path()).unwrap();
        let second = Instance::resolve(None, dir.path()).unwrap();
        assert_ne!(first.name(), second.name(), "the first slot is locked");
        let first_name = first.name().to_owned();
        drop(first);
        let restarted = Instance::resolve(None, dir.path()).unwrap();
        assert_eq!(
            restarted.name(),
            first_name,
            "the freed slot keeps its name"
        );
    }

    #[test]
    fn a_configured_name_wins() {
        let dir = tempfile::tempdir().unwrap();
        let named = Instance::resolve(Some("web-1"), dir.path()).unwrap();
        assert_eq!(named.name(), "web-1");
        assert!(!dir.path().join("instances").exists());
    }
}
