//! Writes every fixture into sub-folders of the given directory, for the
//! cross-check scripts: `make-fixtures OUT_DIR`.

use std::path::PathBuf;

use retarget_fixtures::{write_fixture, Fixture};

fn main() -> std::io::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: make-fixtures OUT_DIR"))?;
    for fixture in Fixture::ALL {
        let dir = out.join(fixture.name());
        write_fixture(fixture, &dir)?;
        println!("{}", dir.display());
    }
    Ok(())
}
