//! Build script: turns on the Postgres half of the test suite when `TEST_DATABASE_URL` is set,
//! so that without it those tests are reported as ignored (skipped), never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(gopy_pg)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=gopy_pg");
    }
}
