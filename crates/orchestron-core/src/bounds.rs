//! The bounds every stored JSON document keeps, so that any document Orchestron writes,
//! Orchestron can read back.
//!
//! Every reader of a session or handoff document is `serde_json` with its default recursion
//! limit, which refuses a 128th level of nested arrays and objects. Nothing stopped a write
//! from nesting deeper (`state set S deep.a.b --json-value '[[[…]]]'`), after which every
//! command on the session failed for good. So the store serializes every document through
//! [`serialize`], which refuses one nested past [`MAX_DEPTH`] or grown past
//! [`MAX_DOCUMENT_BYTES`]; nothing is written then. Numbers need no check: a
//! `serde_json::Value` cannot hold a NaN or an infinity (`Number::from_f64` refuses them, and
//! the parser refuses `1E400`), and every finite number it holds prints as JSON that parses.
//!
//! This module does no I/O but one `stat`, and only for a document past the size bound.
//! It adds nothing measurable to a hook: the depth is counted while serializing.

use std::io;
use std::path::Path;

use serde::Serialize as _;
use serde_json::Value;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::error::{Error, ErrorKind};

/// The deepest a document may nest arrays and objects, its own top-level object counting as
/// the first level. `serde_json`, the reader of every document, refuses a 128th level (its
/// default recursion limit; a test pins it), so this is the deepest document it reads.
pub const MAX_DEPTH: usize = 127;

/// The largest a session or handoff document may grow, in bytes as written (indented JSON).
/// Every hook reads and rewrites the whole document, so its size is each hook's cost; the
/// hooks keep far below this by capping what they record. A write that would leave a
/// document past it is refused, unless the document was past it already and does not grow
/// (so `state delete` can always make room).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// How deep `value` nests arrays and objects: 0 for a scalar, 1 for `[]` or `{"a": 1}`.
/// Walks with a stack of its own, so no nesting can overflow the thread's. (For the values
/// an edit brings; the store counts a whole document as it serializes it.)
pub fn depth(value: &Value) -> usize {
    let nested = |child: &&Value| child.is_array() || child.is_object();
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((node, above)) = pending.pop() {
        let level = above + 1;
        match node {
            Value::Array(items) => {
                pending.extend(items.iter().filter(nested).map(|child| (child, level)));
            }
            Value::Object(map) => {
                pending.extend(map.values().filter(nested).map(|child| (child, level)));
            }
            _ => continue,
        }
        deepest = deepest.max(level);
    }
    deepest
}

/// Refuse `what` (the part of a document an edit makes) when it would nest `levels` deep,
/// past [`MAX_DEPTH`].
pub fn check_depth(what: &str, levels: usize) -> Result<(), Error> {
    if levels <= MAX_DEPTH {
        return Ok(());
    }
    Err(nests_too_deep(format!(
        "{what} would nest arrays and objects {levels} levels deep, \
         past the {MAX_DEPTH} Orchestron can read back"
    )))
}

fn nests_too_deep(message: String) -> Error {
    Error::invalid(message).with_hint("nest the value less deeply, or store it as a string of JSON")
}

/// The bytes the store writes for `document`, which replaces the file at `path`: indented
/// JSON and a final newline. Refused (`invalid`, nothing written) when the document nests
/// past [`MAX_DEPTH`], or when it is past [`MAX_DOCUMENT_BYTES`] and larger than the file it
/// replaces.
///
/// The depth is counted as the document is serialized, at no cost worth measuring (a walk of
/// a 20 KB session cost 5 µs, a tenth of the serialization), and the serializer, which
/// recurses, stops one level past the bound, so no document can overflow the stack.
pub fn serialize(document: &Value, path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Bounded::default());
    if let Err(err) = document.serialize(&mut serializer) {
        // Writing to memory cannot fail; only `Bounded` stops the serializer with an I/O error.
        if err.is_io() {
            return Err(nests_too_deep(format!(
                "`{}` would nest arrays and objects more than {MAX_DEPTH} levels deep, \
                 past what Orchestron can read back",
                path.display()
            ))
            .into());
        }
        return Err(err.into());
    }
    bytes.push(b'\n');
    if bytes.len() > MAX_DOCUMENT_BYTES {
        let before = std::fs::metadata(path).map_or(0, |meta| meta.len());
        if bytes.len() as u64 > before {
            return Err(Error::invalid(format!(
                "`{}` would grow to {} bytes, past the {MAX_DOCUMENT_BYTES} bytes a document \
                 may hold",
                path.display(),
                bytes.len()
            ))
            .with_hint(
                "keep large data in a file and store its path; \
                 `orchestron state delete` makes room",
            )
            .into());
        }
    }
    Ok(bytes)
}

/// `serde_json`'s indented format, counting the levels it opens: one past [`MAX_DEPTH`], it
/// fails the write.
#[derive(Default)]
struct Bounded {
    pretty: PrettyFormatter<'static>,
    level: usize,
}

impl Bounded {
    fn enter(&mut self) -> io::Result<()> {
        self.level += 1;
        if self.level > MAX_DEPTH {
            return Err(io::Error::other("the document nests too deep"));
        }
        Ok(())
    }
}

/// Every method `PrettyFormatter` has of its own goes to it; the rest are the trait's.
impl Formatter for Bounded {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.enter()?;
        self.pretty.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level -= 1;
        self.pretty.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.enter()?;
        self.pretty.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level -= 1;
        self.pretty.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(writer)
    }
}

/// Whether a parse error is `serde_json`'s recursion limit: the text is JSON, but nests
/// deeper than [`MAX_DEPTH`].
pub fn is_too_deep(err: &serde_json::Error) -> bool {
    err.to_string().starts_with("recursion limit exceeded")
}

/// The error for a document at `path` that does not parse: a clear one, with the way out,
/// when it is too deep (written before writes were bounded); else "not valid JSON" and the
/// parser's reason.
pub fn unreadable(path: &Path, err: serde_json::Error) -> anyhow::Error {
    if is_too_deep(&err) {
        return too_deep(path).into();
    }
    anyhow::Error::new(err).context(format!("`{}` is not valid JSON", path.display()))
}

/// [`unreadable`] for an error that went through `anyhow`: one whose cause is the recursion
/// limit becomes the clear error; any other is returned as it was.
pub fn explain(path: &Path, err: anyhow::Error) -> anyhow::Error {
    let deep = err.chain().any(|cause| {
        cause
            .downcast_ref::<serde_json::Error>()
            .is_some_and(is_too_deep)
    });
    if deep { too_deep(path).into() } else { err }
}

fn too_deep(path: &Path) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!(
            "`{}` nests arrays and objects deeper than the {MAX_DEPTH} levels Orchestron reads",
            path.display()
        ),
    )
    .with_hint(
        "an Orchestron that did not check the depth wrote it; edit the file by hand to \
         flatten or remove its deepest value, or remove the file",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `levels` arrays, one inside the other.
    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn depth_counts_levels_of_arrays_and_objects() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!("x")), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": {}}], "c": 2})), 4);
        assert_eq!(depth(&nested(500)), 500);
    }

    #[test]
    fn max_depth_is_exactly_what_the_reader_reads() {
        let text = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let read: Value = serde_json::from_str(&text(MAX_DEPTH)).expect("the deepest it reads");
        assert_eq!(depth(&read), MAX_DEPTH);
        let err = serde_json::from_str::<Value>(&text(MAX_DEPTH + 1)).unwrap_err();
        assert!(is_too_deep(&err), "{err}");
    }

    #[test]
    fn finding_02_a_document_at_the_depth_bound_is_written_one_past_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        // The document's own object is the first level.
        let at = json!({"deep": nested(MAX_DEPTH - 1)});
        assert_eq!(depth(&at), MAX_DEPTH);
        let bytes = serialize(&at, &path).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), at);
        // The very bytes `serde_json` writes indented, and a final newline.
        let shapes = json!({"a": [], "b": {}, "c": [{"d": [1, {"e": null}], "g": [[]]}],
                            "f": "x\ny", "h": -0.5});
        for document in [&at, &shapes] {
            let mut pretty = serde_json::to_vec_pretty(document).unwrap();
            pretty.push(b'\n');
            assert_eq!(serialize(document, &path).unwrap(), pretty);
        }
        let past = json!({"deep": nested(MAX_DEPTH)});
        let err = crate::Error::from(serialize(&past, &path).unwrap_err());
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(err.message().contains("more than 127 levels deep"), "{err}");
        assert!(serialize(&json!({"deep": nested(1000)}), &path).is_err());
    }

    #[test]
    fn a_document_at_the_size_bound_is_written_one_byte_past_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let with = |len: usize| json!({"x": "a".repeat(len)});
        let overhead = serialize(&with(0), &path).unwrap().len();
        let at = with(MAX_DOCUMENT_BYTES - overhead);
        assert_eq!(serialize(&at, &path).unwrap().len(), MAX_DOCUMENT_BYTES);
        let past = with(MAX_DOCUMENT_BYTES - overhead + 1);
        let err = crate::Error::from(serialize(&past, &path).unwrap_err());
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(
            err.message().contains(&MAX_DOCUMENT_BYTES.to_string()),
            "{err}"
        );
        // A document already past the bound may shrink or stay, never grow.
        std::fs::write(&path, vec![b' '; MAX_DOCUMENT_BYTES + 10]).unwrap();
        assert!(serialize(&past, &path).is_ok(), "smaller than before");
        assert!(
            serialize(&with(MAX_DOCUMENT_BYTES), &path).is_err(),
            "larger"
        );
    }

    #[test]
    fn numbers_that_do_not_read_back_cannot_be_held_and_the_rest_read_back_exactly() {
        // What the reader would refuse cannot get into a document in the first place.
        assert!(serde_json::from_str::<Value>("1E400").is_err());
        assert!(serde_json::Number::from_f64(f64::NAN).is_none());
        assert!(serde_json::Number::from_f64(f64::INFINITY).is_none());
        // And every number it holds is read back as the very number written (serde_json's
        // `float_roundtrip`; without it, this first one came back one unit lower in the last
        // place).
        for x in [
            7.676379055449231e39,
            f64::MAX,
            f64::MIN_POSITIVE,
            -0.0,
            5e-324,
            0.1,
        ] {
            let value = json!({"x": x});
            let text = serde_json::to_string(&value).unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                value,
                "{text}"
            );
        }
    }

    #[test]
    fn a_document_too_deep_to_read_gets_a_clear_error() {
        let path = Path::new("/state/sessions/s.json");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = unreadable(path, serde_json::from_str::<Value>(&deep).unwrap_err());
        let err = crate::Error::from(err);
        assert!(
            err.message().contains("deeper than the 127 levels"),
            "{err}"
        );
        assert!(err.hint().is_some_and(|hint| hint.contains("by hand")));
        let torn = unreadable(path, serde_json::from_str::<Value>("{torn").unwrap_err());
        assert!(
            format!("{torn:#}").contains("is not valid JSON"),
            "{torn:#}"
        );
        let through_anyhow = anyhow::Error::new(serde_json::from_str::<Value>(&deep).unwrap_err())
            .context("cannot select");
        assert!(
            explain(path, through_anyhow)
                .to_string()
                .contains("deeper than the 127 levels")
        );
    }
}
