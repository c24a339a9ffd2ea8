//! HDF5 and MPI helpers shared by the output writer and the checkpoints: collective row writes
//! through MPI-IO, independent row reads, small attributes, name checks, and the cheap hashes
//! used to compare call arguments across ranks and to detect corrupted data.

use crate::comm::Comm;
use crate::error::{Error, Result};
use hdf5::dataset::FillTime;
use hdf5::types::FixedAscii;
use hdf5::{Dataset, Dataspace, Datatype, File, H5Type, Location, Selection};
use hdf5_sys::h5d::H5Dwrite;
use hdf5_sys::h5p::{H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio, H5P_CLS_DATASET_XFER};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::path::Path;

/// Collective: writes this rank's `rows` rows (`data` holds them row-major) at row `offset` of
/// `ds`, with a collective MPI-IO transfer. A rank with no rows takes part with an empty
/// selection, as collective transfers require.
pub(crate) fn write_rows<T: H5Type>(ds: &Dataset, offset: u64, rows: usize, data: &[T]) -> hdf5::Result<()> {
    let space = ds.space()?;
    let (file_sel, mem_space) = if rows == 0 {
        // Zero points select nothing (H5Sselect_none).
        let f = space.select(Selection::Points(ndarray::Array2::zeros((0, space.ndim()))))?;
        let m = f.copy();
        (f, m)
    } else {
        let lo = usize::try_from(offset).map_err(|_| hdf5::Error::from("offset too large"))?;
        let hi = lo + rows;
        let f = if space.ndim() == 1 {
            space.select(lo..hi)?
        } else {
            space.select(Selection::try_from(ndarray::s![lo..hi, ..])?)?
        };
        if f.selection_size() != data.len() {
            return Err(hdf5::Error::from(format!(
                "{} values for {} selected elements",
                data.len(),
                f.selection_size()
            )));
        }
        (f, Dataspace::try_new([data.len()])?)
    };
    let dtype = Datatype::from_type::<T>()?;
    let rc = hdf5::sync::sync(|| {
        // SAFETY: all ids are live handles owned above; `data` outlives the call and holds as
        // many elements of type T as the memory space selects (checked above, or none).
        unsafe {
            let dxpl = H5Pcreate(*H5P_CLS_DATASET_XFER);
            if dxpl < 0 {
                return -1;
            }
            let mut rc = H5Pset_dxpl_mpio(dxpl, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE);
            if rc >= 0 {
                rc = H5Dwrite(
                    ds.id(),
                    dtype.id(),
                    mem_space.id(),
                    file_sel.id(),
                    dxpl,
                    data.as_ptr().cast(),
                );
            }
            H5Pclose(dxpl);
            rc
        }
    });
    if rc < 0 {
        return Err(hdf5::Error::from("collective H5Dwrite failed"));
    }
    Ok(())
}

/// Local (independent transfer): rows `offset..offset + rows` of a 1-D or 2-D dataset,
/// row-major.
pub(crate) fn read_rows<T: H5Type + Clone>(ds: &Dataset, offset: u64, rows: usize) -> hdf5::Result<Vec<T>> {
    let lo = usize::try_from(offset).map_err(|_| hdf5::Error::from("offset too large"))?;
    let shape = ds.shape();
    if lo + rows > shape.first().copied().unwrap_or(0) {
        return Err(hdf5::Error::from(format!(
            "rows {lo}..{} beyond the {} rows of the dataset",
            lo + rows,
            shape.first().copied().unwrap_or(0)
        )));
    }
    match shape.len() {
        1 => Ok(ds.read_slice_1d::<T, _>(lo..lo + rows)?.to_vec()),
        2 => Ok(ds
            .read_slice_2d::<T, _>(ndarray::s![lo..lo + rows, ..])?
            .as_standard_layout()
            .iter()
            .cloned()
            .collect()),
        n => Err(hdf5::Error::from(format!("a dataset of {n} dimensions"))),
    }
}

/// Creates a contiguous dataset of `shape`, with no fill (every element is written).
pub(crate) fn new_dataset<T: H5Type>(file: &File, path: &str, shape: &[usize]) -> hdf5::Result<Dataset> {
    file.new_dataset::<T>()
        .fill_time(FillTime::Never)
        .shape(shape)
        .create(path)
}

/// Longest text of a [`write_attr_str`] attribute.
pub(crate) const ATTR_STR: usize = 32;

/// Writes (collectively under MPI-IO: every rank with the same value) a scalar attribute.
pub(crate) fn write_attr<T: H5Type>(loc: &Location, name: &str, value: &T) -> hdf5::Result<()> {
    loc.new_attr::<T>().create(name)?.write_scalar(value)
}

/// Writes a short ASCII attribute (at most [`ATTR_STR`] bytes).
pub(crate) fn write_attr_str(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v = FixedAscii::<ATTR_STR>::from_ascii(value.as_bytes()).map_err(|e| hdf5::Error::from(e.to_string()))?;
    write_attr(loc, name, &v)
}

/// Reads a scalar attribute.
pub(crate) fn read_attr<T: H5Type>(loc: &Location, name: &str) -> hdf5::Result<T> {
    loc.attr(name)?.read_scalar()
}

/// Reads a short ASCII attribute written by [`write_attr_str`].
pub(crate) fn read_attr_str(loc: &Location, name: &str) -> hdf5::Result<String> {
    Ok(read_attr::<FixedAscii<ATTR_STR>>(loc, name)?.as_str().to_string())
}

pub(crate) fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> Error {
    Error::Output(format!("{}: {what}: {e}", path.display()))
}

pub(crate) fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Output(format!("size {n} does not fit in memory indices")))
}

/// Names become HDF5 link names and XDMF references: ASCII letters, digits and `_-+.`, not
/// starting with `.`.
pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-+.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Output(format!(
            "{what} '{name}': use ASCII letters, digits and _-+. (not starting with .)"
        )))
    }
}

/// Collective: whether `h` is the same on every rank.
pub(crate) fn same_everywhere(comm: &Comm, h: u64) -> bool {
    let mine = [h, !h];
    let mut min = [0u64; 2];
    comm.world()
        .all_reduce_into(&mine[..], &mut min[..], SystemOperation::min());
    min[0] == h && !min[1] == h
}

/// Collective: the wrapping sum of `x` over the ranks (for order-independent checksums).
pub(crate) fn sum_wrapping(comm: &Comm, x: &[u64]) -> Vec<u64> {
    let mut s = vec![0u64; x.len()];
    comm.world().all_reduce_into(x, &mut s[..], SystemOperation::sum());
    s
}

/// FNV-1a, to compare call arguments across ranks cheaply and to fingerprint headers.
pub(crate) struct Fnv(pub(crate) u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub(crate) fn u64(&mut self, x: u64) {
        self.bytes(&x.to_le_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
}

/// The splitmix64 finalizer: a strong 64-bit mix, for hashes over many words.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The checksum term of row `row` holding `values`: summed (wrapping) over the rows, it gives a
/// checksum of a dataset that any distribution of its rows computes alike.
pub(crate) fn row_hash(row: u64, values: &[f64]) -> u64 {
    let mut h = mix64(row ^ 0x9e37_79b9_7f4a_7c15);
    for v in values {
        h = mix64(h ^ v.to_bits());
    }
    h
}
