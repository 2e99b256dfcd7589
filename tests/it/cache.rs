//! One suite, run against both cache backends: the in-process map and a real Redis.

use std::time::Duration;

use whatsdex::cache::{Cache, CacheError};

use crate::common;

fn redis_cache() -> Cache {
    // A fresh prefix per test: runs and tests sharing one Redis never see each other's keys.
    Cache::redis(
        &common::redis_url(),
        &format!("{}:", common::unique_name("wdx_test")),
    )
    .unwrap()
}

async fn set_get_delete(cache: Cache) {
    assert_eq!(cache.get("greeting").await.unwrap(), None);
    cache
        .set("greeting", "hello", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(
        cache.get("greeting").await.unwrap().as_deref(),
        Some("hello")
    );
    cache
        .set("greeting", "hi", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(cache.get("greeting").await.unwrap().as_deref(), Some("hi"));
    assert!(cache.delete("greeting").await.unwrap());
    assert!(!cache.delete("greeting").await.unwrap());
    assert_eq!(cache.get("greeting").await.unwrap(), None);
}

async fn values_expire(cache: Cache) {
    cache
        .set("short", "x", Some(Duration::from_millis(100)))
        .await
        .unwrap();
    let left = cache.ttl("short").await.unwrap().expect("has a ttl");
    assert!(left <= Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);
    assert_eq!(cache.ttl("short").await.unwrap(), None);
    cache.set("forever", "x", None).await.unwrap();
    assert_eq!(cache.ttl("forever").await.unwrap(), None);
    cache.delete("forever").await.unwrap();
}

async fn set_if_absent_only_once(cache: Cache) {
    let ttl = Some(Duration::from_secs(60));
    assert!(cache.set_if_absent("lock", "first", ttl).await.unwrap());
    assert!(!cache.set_if_absent("lock", "second", ttl).await.unwrap());
    assert_eq!(cache.get("lock").await.unwrap().as_deref(), Some("first"));
    cache.delete("lock").await.unwrap();
    assert!(cache.set_if_absent("lock", "third", ttl).await.unwrap());
    cache.delete("lock").await.unwrap();
}

async fn set_if_absent_after_expiry(cache: Cache) {
    assert!(
        cache
            .set_if_absent("lease", "a", Some(Duration::from_millis(80)))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        cache
            .set_if_absent("lease", "b", Some(Duration::from_secs(60)))
            .await
            .unwrap()
    );
    assert_eq!(cache.get("lease").await.unwrap().as_deref(), Some("b"));
    cache.delete("lease").await.unwrap();
}

async fn incr_is_atomic_under_concurrency(cache: Cache) {
    const TASKS: i64 = 40;
    const EACH: i64 = 25;
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                for _ in 0..EACH {
                    cache
                        .incr("hits", 1, Some(Duration::from_secs(60)))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(cache.get("hits").await.unwrap().as_deref(), Some("1000"));
    assert_eq!(cache.incr("hits", -1000, None).await.unwrap(), 0);
    cache.delete("hits").await.unwrap();
}

async fn incr_keeps_the_first_window(cache: Cache) {
    assert_eq!(
        cache
            .incr("window", 1, Some(Duration::from_millis(150)))
            .await
            .unwrap(),
        1
    );
    // A later call with a longer ttl must not stretch the window.
    assert_eq!(
        cache
            .incr("window", 1, Some(Duration::from_secs(60)))
            .await
            .unwrap(),
        2
    );
    assert!(cache.ttl("window").await.unwrap().unwrap() <= Duration::from_millis(150));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cache
            .incr("window", 5, Some(Duration::from_secs(60)))
            .await
            .unwrap(),
        5
    );
    cache.delete("window").await.unwrap();
}

async fn incr_on_text_is_refused(cache: Cache) {
    cache
        .set("name", "alice", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let err = cache.incr("name", 1, None).await.unwrap_err();
    assert!(matches!(err, CacheError::NotAnInteger(_)), "{err:?}");
    assert_eq!(cache.get("name").await.unwrap().as_deref(), Some("alice"));
    cache.delete("name").await.unwrap();
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $case() { super::$case(whatsdex::cache::Cache::memory()).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $case() { super::$case(super::redis_cache()).await })*
        }
    };
}

on_both_backends!(
    set_get_delete,
    values_expire,
    set_if_absent_only_once,
    set_if_absent_after_expiry,
    incr_is_atomic_under_concurrency,
    incr_keeps_the_first_window,
    incr_on_text_is_refused,
);

#[tokio::test]
async fn redis_ping_fails_fast_when_down() {
    let cache = Cache::redis("redis://127.0.0.1:1", "t:").unwrap();
    assert!(cache.ping(Duration::from_secs(2)).await.is_err());
}
