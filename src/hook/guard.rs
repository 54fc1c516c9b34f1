//! Guard rules for PreToolUse: refuse (or ask about) a tool call before it runs.
//!
//! Two rules ship and are on unless the project switches them off by name:
//!
//! - `rm-rf-root` reads a Bash command as a shell would split it ([`shell`]: quotes, escapes,
//!   `;`, `&&`, `|`, subshells, `$(…)`, `bash -c` and `eval` bodies, prefixes such as `sudo`
//!   and `env`, the command by its base name) and refuses a recursive `rm`, or a `find`
//!   that deletes (`-delete`, `-exec rm`) without a name test to narrow it, of the root, a
//!   home directory, a directory above one, a top-level system directory, or everything in
//!   one of them, with paths normalised (`//`, `/usr/..`, `~/.`, `$HOME`, `${HOME}`, a
//!   `cd` earlier in the command). It judges words, not text: `echo rm -rf /` passes.
//! - `env-files` refuses writing a `.env` file.
//!
//! A project's own rules (`hooks.guards`) name the tools they apply to and a pattern on the
//! call's command (Bash) or file path (file tools), as globs: `*` matches any run of
//! characters, `?` one character, and the pattern must match the whole text as written, not
//! as a shell would split it. Evaluation is pure and reads no state; the command is split
//! once, in time linear in its length, so the common case, no rule matching, costs a few
//! microseconds.

mod shell;

use serde_json::Value;

pub(crate) use orchestron_core::config::{Decision, Rule};

/// The first rule that matches the call, with its decision and reason.
pub(crate) fn check(
    tool: &str,
    input: &Value,
    rules: &[Rule],
    disabled: &[String],
) -> Option<(Decision, String)> {
    let on = |name: &str| !disabled.iter().any(|off| off == name || off == "*");
    let command = input.get("command").and_then(Value::as_str);
    let path = ["file_path", "notebook_path"]
        .iter()
        .find_map(|key| input.get(*key).and_then(Value::as_str));
    if on("rm-rf-root")
        && tool == "Bash"
        && let Some(what) = command.and_then(dangerous_deletion)
    {
        return Some((
            Decision::Deny,
            format!("Orchestron guard `rm-rf-root`: refusing {what}"),
        ));
    }
    if on("env-files")
        && ["Write", "Edit", "MultiEdit"].contains(&tool)
        && path.is_some_and(is_env_file)
    {
        return Some((
            Decision::Deny,
            "Orchestron guard `env-files`: refusing to write a `.env` file, which holds secrets; \
             edit it yourself"
                .to_owned(),
        ));
    }
    rules.iter().find_map(|rule| {
        if rule.name.as_deref().is_some_and(|name| !on(name)) {
            return None;
        }
        let tool_matches = rule.tool.split('|').any(|name| glob(name.trim(), tool));
        let text = command.or(path).unwrap_or("");
        let pattern_matches = rule
            .pattern
            .as_deref()
            .is_none_or(|pattern| glob(pattern, text));
        (tool_matches && pattern_matches).then(|| {
            let name = rule.name.as_deref().unwrap_or("project rule");
            (
                rule.decision,
                format!("Orchestron guard `{name}`: {}", rule.reason),
            )
        })
    })
}

/// Top-level directories of Linux and macOS whose loss breaks the system or loses every
/// user's data. `/tmp` is not among them: clearing it is ordinary.
const SYSTEM_DIRS: [&str; 28] = [
    "Applications",
    "Library",
    "System",
    "Users",
    "Volumes",
    "bin",
    "boot",
    "cores",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "media",
    "mnt",
    "nix",
    "opt",
    "private",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "usr",
];

/// The most components a dangerous place has (`/home/dev/*`): deeper ones are not judged.
const MAX_DANGEROUS_PARTS: usize = 3;

/// The longest file name: a `cd` into a longer component fails, so it is not followed.
const NAME_MAX: usize = 255;

/// The directories holding one home directory each.
const HOME_PARENTS: [&str; 2] = ["home", "Users"];

/// Shells whose `-c` text, or here-document, is itself a command.
const SHELLS: [&[u8]; 8] = [
    b"sh", b"bash", b"zsh", b"dash", b"ksh", b"mksh", b"ash", b"fish",
];

/// A word that runs the command after it (after its own options): `sudo rm` is `rm`.
struct Prefix {
    name: &'static [u8],
    /// Its short options that take a value.
    short: &'static [u8],
    /// Its long options that take a value.
    long: &'static [&'static [u8]],
}

const fn prefix(
    name: &'static [u8],
    short: &'static [u8],
    long: &'static [&'static [u8]],
) -> Prefix {
    Prefix { name, short, long }
}

const PREFIXES: [Prefix; 12] = [
    prefix(
        b"sudo",
        b"CDgpRrtTUu",
        &[
            b"chdir",
            b"chroot",
            b"close-from",
            b"command-timeout",
            b"group",
            b"host",
            b"other-user",
            b"prompt",
            b"role",
            b"type",
            b"user",
        ],
    ),
    prefix(b"doas", b"Cu", &[]),
    prefix(b"command", b"", &[]),
    prefix(b"exec", b"a", &[]),
    prefix(
        b"xargs",
        b"adEILnPs",
        &[
            b"arg-file",
            b"delimiter",
            b"eof",
            b"max-args",
            b"max-chars",
            b"max-lines",
            b"max-procs",
            b"process-slot-var",
            b"replace",
        ],
    ),
    prefix(b"nice", b"n", &[b"adjustment"]),
    prefix(b"nohup", b"", &[]),
    prefix(b"time", b"fo", &[b"format", b"output"]),
    prefix(b"stdbuf", b"eio", &[b"error", b"input", b"output"]),
    prefix(b"ionice", b"cn", &[b"class", b"classdata"]),
    prefix(b"builtin", b"", &[]),
    prefix(b"busybox", b"", &[]),
];

/// Reserved words a command may follow.
const RESERVED: [&[u8]; 9] = [
    b"!", b"{", b"if", b"then", b"elif", b"else", b"do", b"while", b"until",
];

/// Whether a shell command deletes the root, a home or a system directory, read as a shell
/// would split it; what it would delete, if so.
fn dangerous_deletion(command: &str) -> Option<String> {
    let mut cwd = None;
    read(command.as_bytes(), 0, &mut cwd)
}

/// Judge every simple command of `text`, nested `depth` deep. `cwd` is where `cd` went, when
/// the command said so with a path this reading can follow.
fn read(text: &[u8], depth: usize, cwd: &mut Option<Place>) -> Option<String> {
    if depth >= shell::MAX_DEPTH {
        return None;
    }
    let reading = shell::split(text, depth);
    let mut words = Vec::new();
    reading.commands.iter().find_map(|command| {
        words.clear();
        reading.words(command, &mut words);
        judge(&words, reading.input(command), command.depth + 1, cwd)
    })
}

/// Judge one simple command, whose `input` comes from a here-document; what it nests is
/// read `deeper`.
fn judge(
    mut words: &[&[u8]],
    input: Option<&[u8]>,
    deeper: usize,
    cwd: &mut Option<Place>,
) -> Option<String> {
    loop {
        let (first, args) = words.split_first()?;
        let name = basename(first);
        words = if is_assignment(first) || RESERVED.contains(&name) {
            args
        } else if name == b"env" {
            match env_command(args) {
                Ok(rest) => rest,
                // `env -S 'rm -rf' /`: the string is split into words again.
                Err(split) => return read(&split, deeper, cwd),
            }
        } else if name == b"timeout" {
            let rest = skip_options(args, b"ks", &[b"kill-after", b"signal"]);
            rest.split_first()?.1
        } else if name == b"command" && option_letters(args).any(|c| c == b'v' || c == b'V') {
            // `command -v rm` only says where `rm` is.
            return None;
        } else if let Some(prefix) = PREFIXES.iter().find(|prefix| prefix.name == name) {
            skip_options(args, prefix.short, prefix.long)
        } else {
            break;
        };
    }
    let (first, args) = words.split_first()?;
    match basename(first) {
        b"rm" => remove(args, cwd.as_ref()),
        b"find" => find(args, cwd.as_ref()),
        b"cd" | b"pushd" => {
            match skip_options(args, b"", &[]).first() {
                None => *cwd = Some(Place::home()),
                Some(target) => Place::change(cwd, target),
            }
            None
        }
        b"eval" => read(&args.join(&b' '), deeper, cwd),
        b"su" => dash_c(args).and_then(|body| read(body, deeper, cwd)),
        shell if SHELLS.contains(&shell) => {
            if let Some(body) = dash_c(args) {
                return read(body, deeper, cwd);
            }
            // Without `-c` or a script, a shell runs what comes on stdin.
            let script = skip_options(args, b"o", &[b"init-file", b"rcfile"]);
            match (input, script.is_empty()) {
                (Some(input), true) => read(input, deeper, cwd),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A recursive `rm` (forced or not: with no terminal to ask on, `rm -r` asks nothing) of a
/// dangerous place. Options may follow operands, as GNU `rm` allows.
fn remove(args: &[&[u8]], cwd: Option<&Place>) -> Option<String> {
    let mut recursive = false;
    let mut operands = Vec::new();
    let mut options = true;
    for &arg in args {
        if options && arg == b"--" {
            options = false;
        } else if options && arg.len() > 1 && arg[0] == b'-' {
            if let Some(long) = arg.strip_prefix(b"--") {
                let name = long.split(|b| *b == b'=').next().unwrap_or_default();
                recursive |= !name.is_empty() && b"recursive".starts_with(name);
            } else {
                recursive |= arg[1..].iter().any(|c| matches!(c, b'r' | b'R'));
            }
        } else {
            operands.push(arg);
        }
    }
    if !recursive {
        return None;
    }
    operands.iter().find_map(|operand| {
        let what = Place::target(operand, cwd)?.danger()?;
        Some(format!("a recursive `rm` of {what}"))
    })
}

/// `find PLACE … -delete` or `-exec rm …` from a dangerous place, unless a name test
/// before the deletion narrows what it deletes (`find / -name '*.pyc' -delete`).
fn find(args: &[&[u8]], cwd: Option<&Place>) -> Option<String> {
    let mut at = 0;
    while let Some(&arg) = args.get(at) {
        match arg {
            b"-H" | b"-L" | b"-P" => at += 1,
            b"-D" => at += 2,
            arg if arg.starts_with(b"-O") => at += 1,
            _ => break,
        }
    }
    let first_path = at;
    while let Some(&arg) = args.get(at) {
        if (arg.len() > 1 && arg[0] == b'-') || matches!(arg, b"(" | b"!" | b",") {
            break;
        }
        at += 1;
    }
    let paths = args.get(first_path..at).unwrap_or_default();
    let expression = args.get(at..).unwrap_or_default();
    let (mut narrowed, mut branched, mut negated) = (false, false, false);
    let (mut deletes, mut deletes_unnarrowed) = (false, false);
    let mut words = expression.iter().copied();
    while let Some(word) = words.next() {
        let negates = matches!(word, b"!" | b"-not");
        match word {
            b"-delete" => {
                deletes = true;
                deletes_unnarrowed |= !narrowed;
            }
            b"-exec" | b"-execdir" | b"-ok" | b"-okdir" => {
                if words.next().is_some_and(|word| basename(word) == b"rm") {
                    deletes = true;
                    deletes_unnarrowed |= !narrowed;
                }
                for word in words.by_ref() {
                    if word == b";" || word == b"+" {
                        break;
                    }
                }
            }
            b"-o" | b"-or" | b"," => branched = true,
            b"-name" | b"-iname" | b"-path" | b"-ipath" | b"-wholename" | b"-iwholename"
            | b"-regex" | b"-iregex" => {
                let pattern = words.next();
                narrowed |= !negated && pattern.is_some_and(|pattern| !everything(pattern));
            }
            _ => {}
        }
        negated = negates;
    }
    // Behind an `-o`, a deletion may run on another branch than the narrowing test's.
    if !(deletes_unnarrowed || (deletes && branched)) {
        return None;
    }
    let here: [&[u8]; 1] = [b"."];
    let paths = if paths.is_empty() { &here[..] } else { paths };
    paths.iter().find_map(|path| {
        let what = Place::target(path, cwd)?.danger()?;
        Some(format!("`find` deleting everything under {what}"))
    })
}

/// `-c TEXT` among a shell's (or `su`'s) options: the text it runs.
fn dash_c<'w>(args: &[&'w [u8]]) -> Option<&'w [u8]> {
    let mut args = args.iter().copied();
    let mut c = false;
    while let Some(arg) = args.next() {
        if arg == b"--command" {
            return args.next();
        }
        if let Some(text) = arg.strip_prefix(b"--command=") {
            return Some(text);
        }
        if arg == b"--" {
            if c {
                return args.next();
            }
            continue;
        }
        if !(arg.len() > 1 && matches!(arg[0], b'-' | b'+')) {
            if c {
                return Some(arg);
            }
            // `su root -c …`: an operand before the option.
            continue;
        }
        if arg[1] == b'-' {
            continue;
        }
        c |= arg[1..].contains(&b'c');
        if matches!(arg, b"-o" | b"+o" | b"-O" | b"+O") {
            args.next();
        }
    }
    None
}

/// The command `env` runs: past its options and assignments (`Ok`), or the text of its
/// `-S` option joined with the words after it, to be split again (`Err`).
fn env_command<'s, 'w>(args: &'s [&'w [u8]]) -> Result<&'s [&'w [u8]], Vec<u8>> {
    let mut at = 0;
    while let Some(&arg) = args.get(at) {
        let rest = args.get(at + 1..).unwrap_or_default();
        let split = |text: &[u8], rest: &[&[u8]]| {
            let mut joined = text.to_vec();
            for word in rest {
                joined.push(b' ');
                joined.extend_from_slice(word);
            }
            joined
        };
        if arg == b"--" {
            return Ok(rest);
        } else if arg == b"-S" || arg == b"--split-string" {
            let (text, rest) = rest
                .split_first()
                .map_or((&[][..], rest), |(text, rest)| (*text, rest));
            return Err(split(text, rest));
        } else if let Some(text) = arg
            .strip_prefix(b"--split-string=")
            .or_else(|| arg.strip_prefix(b"-S"))
        {
            return Err(split(text, rest));
        } else if matches!(arg, b"-u" | b"-C" | b"--unset" | b"--chdir") {
            at += 2;
        } else if arg.starts_with(b"-") {
            at += 1;
        } else {
            break;
        }
    }
    Ok(args.get(at..).unwrap_or_default())
}

/// The words after a command's options: `-x`, `-xVALUE`, `-x VALUE` when `x` is one of
/// `short`, `--long`, `--long=VALUE`, `--long VALUE` when `long` is one of `longs`, up to
/// `--` or the first word that is not an option.
fn skip_options<'s, 'w>(args: &'s [&'w [u8]], short: &[u8], longs: &[&[u8]]) -> &'s [&'w [u8]] {
    let mut at = 0;
    while let Some(&arg) = args.get(at) {
        if arg == b"--" {
            return args.get(at + 1..).unwrap_or_default();
        }
        if arg.len() < 2 || arg[0] != b'-' {
            break;
        }
        let takes_value = match arg.strip_prefix(b"--") {
            Some(long) => !long.contains(&b'=') && longs.contains(&long),
            None => arg[1..]
                .iter()
                .position(|c| short.contains(c))
                .is_some_and(|index| index + 2 == arg.len()),
        };
        at += if takes_value { 2 } else { 1 };
    }
    args.get(at..).unwrap_or_default()
}

/// The letters of the short options before the first operand.
fn option_letters<'s, 'w: 's>(args: &'s [&'w [u8]]) -> impl Iterator<Item = u8> + 's {
    args.iter()
        .take_while(|arg| arg.len() > 1 && arg[0] == b'-' && arg[1] != b'-')
        .flat_map(|arg| arg[1..].iter().copied())
}

/// `NAME=value`: an assignment before a command.
fn is_assignment(word: &[u8]) -> bool {
    let Some(equals) = word.iter().position(|b| *b == b'=') else {
        return false;
    };
    let name = &word[..equals];
    let name = name.strip_suffix(b"+").unwrap_or(name);
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// A command by its last path component: `/bin/rm` is `rm`.
fn basename(word: &[u8]) -> &[u8] {
    word.rsplit(|b| *b == b'/').next().unwrap_or(word)
}

/// A glob component that matches every entry: `*`, `**`, `.*`.
fn everything(part: &[u8]) -> bool {
    let part = part.strip_prefix(b".").unwrap_or(part);
    !part.is_empty() && part.iter().all(|b| matches!(*b, b'*' | shell::STAR))
}

fn is_glob(part: &[u8]) -> bool {
    part.iter()
        .any(|b| matches!(*b, shell::STAR | shell::QUESTION | shell::BRACKET))
}

/// Where a path leads, as far as a reading without the file system can tell: from the
/// root, from the home directory, or from `levels` above it (`~/..`), then the components
/// left after `.`, `..` and empty ones are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    base: Base,
    parts: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Root,
    Home,
    AboveHome(usize),
}

impl Place {
    fn home() -> Place {
        Place {
            base: Base::Home,
            parts: Vec::new(),
        }
    }

    fn root() -> Place {
        Place {
            base: Base::Root,
            parts: Vec::new(),
        }
    }

    /// Where a word starts from: the root, the home directory, or (`None`) the working
    /// directory; and the rest of it. `Err` when an unknown expansion is in it.
    fn start(word: &[u8]) -> Result<(Option<Place>, &[u8]), ()> {
        if word.contains(&shell::UNKNOWN) {
            return Err(());
        }
        Ok(match word.first() {
            Some(&shell::HOME) => (Some(Place::home()), &word[1..]),
            Some(b'/') => (Some(Place::root()), word),
            _ => (None, word),
        })
    }

    /// Follow the components of `path`: `.` and empty ones stay, `..` goes up.
    fn follow(&mut self, path: &[u8]) {
        for part in path.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => self.up(1),
                part => self.parts.push(part.to_vec()),
            }
        }
    }

    fn up(&mut self, levels: usize) {
        let popped = levels.min(self.parts.len());
        self.parts.truncate(self.parts.len() - popped);
        let beyond = levels - popped;
        if beyond > 0 {
            self.base = match self.base {
                Base::Root => Base::Root,
                Base::Home => Base::AboveHome(beyond),
                Base::AboveHome(above) => Base::AboveHome(above.saturating_add(beyond)),
            };
        }
    }

    /// `cd target`: the working directory changes in place, or becomes unknown. A
    /// component longer than a file name can be makes it unknown too (such a `cd` fails),
    /// which also keeps every later copy of it small.
    fn change(cwd: &mut Option<Place>, target: &[u8]) {
        if target
            .split(|b| *b == b'/')
            .any(|part| part.len() > NAME_MAX)
        {
            *cwd = None;
            return;
        }
        match Place::start(target) {
            Err(()) => *cwd = None,
            Ok((Some(mut place), rest)) => {
                place.follow(rest);
                *cwd = Some(place);
            }
            Ok((None, rest)) => {
                if let Some(place) = cwd {
                    place.follow(rest);
                }
            }
        }
    }

    /// The place an operand names, when it may be dangerous: `None` when an unknown
    /// expansion is in it, when it is relative and no `cd` said where from, or when it lies
    /// deeper than any dangerous place (without copying a deep working directory).
    fn target(word: &[u8], cwd: Option<&Place>) -> Option<Place> {
        let (start, rest) = Place::start(word).ok()?;
        if let Some(mut place) = start {
            place.follow(rest);
            return Some(place);
        }
        let cwd = cwd?;
        // The operand on its own: how far up it goes first, then its own components.
        let mut own = Place::root();
        let mut ups = 0;
        for part in rest.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." if own.parts.is_empty() => ups += 1,
                b".." => own.up(1),
                part => own.parts.push(part.to_vec()),
            }
        }
        let kept = cwd.parts.len().saturating_sub(ups);
        if kept + own.parts.len() > MAX_DANGEROUS_PARTS {
            return None;
        }
        let mut place = Place {
            base: cwd.base,
            parts: cwd.parts[..kept].to_vec(),
        };
        place.up(ups.saturating_sub(cwd.parts.len()));
        place.parts.extend(own.parts);
        Some(place)
    }

    /// What deleting this place would destroy, if it is the root, a system directory, a
    /// home directory, a directory above one, or everything in one of those.
    fn danger(&self) -> Option<String> {
        let shown = self.show();
        if let Some((last, parent)) = self.parts.split_last()
            && everything(last)
        {
            let parent = Place {
                base: self.base,
                parts: parent.to_vec(),
            };
            if let Some(what) = parent.danger() {
                return Some(format!("`{shown}`, everything in {what}"));
            }
        }
        let names = |part: &[u8], names: &[&str]| -> bool {
            if part.contains(&shell::BRACKET) {
                return true;
            }
            let pattern: String = part
                .iter()
                .map(|b| match *b {
                    shell::STAR => '*',
                    shell::QUESTION => '?',
                    other => char::from(other),
                })
                .collect();
            names.iter().any(|name| glob(&pattern, name))
        };
        let parts: Vec<&[u8]> = self.parts.iter().map(Vec::as_slice).collect();
        let what = match (self.base, parts.as_slice()) {
            (Base::Root, []) => "the root directory".to_owned(),
            (Base::Root, [top]) if names(top, &SYSTEM_DIRS) => {
                if is_glob(top) {
                    "system directories".to_owned()
                } else {
                    "a system directory".to_owned()
                }
            }
            (Base::Root, [parent, _]) if names(parent, &HOME_PARENTS) => {
                "a home directory".to_owned()
            }
            (Base::Home, []) => "your home directory".to_owned(),
            (Base::AboveHome(levels), parts) if parts.len() < levels => {
                "a directory above your home directory".to_owned()
            }
            (Base::AboveHome(1), [_]) => "a home directory".to_owned(),
            _ => return None,
        };
        Some(format!("`{shown}`, {what}"))
    }

    /// The place as a path, `~` for the home directory.
    fn show(&self) -> String {
        let mut shown: Vec<u8> = match self.base {
            Base::Root => Vec::new(),
            Base::Home => b"~".to_vec(),
            Base::AboveHome(levels) => [&b"~"[..], &b"/..".repeat(levels)].concat(),
        };
        for part in &self.parts {
            shown.push(b'/');
            shown.extend(part.iter().map(|byte| match *byte {
                shell::HOME => b'~',
                shell::UNKNOWN | shell::QUESTION => b'?',
                shell::STAR => b'*',
                shell::BRACKET => b'[',
                other => other,
            }));
        }
        if shown.is_empty() {
            shown.push(b'/');
        }
        String::from_utf8_lossy(&shown).into_owned()
    }
}

/// `.env` and `.env.local` and the like, but not the templates people commit.
fn is_env_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let templates = [".env.example", ".env.sample", ".env.template", ".env.dist"];
    (name == ".env" || name.starts_with(".env.")) && !templates.contains(&name)
}

/// Whether `text` matches the glob `pattern` as a whole: `*` any run, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob(
            "git push*--force*",
            "git push origin main --force-with-lease"
        ));
        assert!(glob("mcp__*", "mcp__memory__store"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(!glob("Bash", "BashOutput"));
        assert!(glob("*.rs", "/p/src/main.rs"));
        assert!(!glob("*.rs", "/p/src/main.rsx"));
    }

    fn denied(command: &str) -> Option<String> {
        check("Bash", &json!({"command": command}), &[], &[]).map(|(decision, reason)| {
            assert_eq!(decision, Decision::Deny, "{command}");
            reason
        })
    }

    #[test]
    fn shipped_rules() {
        for bad in [
            "rm -rf /",
            "sudo rm -rf /*",
            "cd x && rm -fr ~",
            "rm -r -f $HOME",
            "/bin/rm --recursive --force /",
        ] {
            assert!(denied(bad).is_some(), "{bad}");
        }
        for fine in [
            "rm -rf ./build",
            "rm -rf /tmp/x",
            "rm -f /",
            "ls /",
            "echo rm -rf",
        ] {
            assert_eq!(denied(fine), None, "{fine}");
        }
        let write = |path: &str| check("Write", &json!({"file_path": path}), &[], &[]);
        assert!(write("/p/.env").is_some());
        assert!(write("/p/.env.local").is_some());
        assert!(write("/p/.env.example").is_none());
        assert!(write("/p/env.rs").is_none());
        // Switched off by name, or all at once.
        let off = ["env-files".to_owned()];
        assert!(check("Write", &json!({"file_path": "/p/.env"}), &[], &off).is_none());
        let all = ["*".to_owned()];
        assert!(check("Bash", &json!({"command": "rm -rf /"}), &[], &all).is_none());
    }

    #[test]
    fn project_rules() {
        let rules: Vec<Rule> = serde_json::from_value(json!([
            {"name": "no-force-push", "tool": "Bash", "pattern": "git push*--force*",
             "decision": "ask", "reason": "force pushes need a human"},
            {"tool": "Edit|Write", "pattern": "*/migrations/*", "decision": "deny",
             "reason": "migrations are append-only"}
        ]))
        .unwrap();
        let (decision, reason) = check(
            "Bash",
            &json!({"command": "git push origin main --force"}),
            &rules,
            &[],
        )
        .unwrap();
        assert_eq!(decision, Decision::Ask);
        assert!(reason.contains("no-force-push") && reason.contains("human"));
        assert_eq!(
            check(
                "Write",
                &json!({"file_path": "/p/migrations/001.sql"}),
                &rules,
                &[]
            )
            .map(|(d, _)| d),
            Some(Decision::Deny)
        );
        assert!(
            check(
                "Read",
                &json!({"file_path": "/p/migrations/001.sql"}),
                &rules,
                &[]
            )
            .is_none()
        );
        assert!(check("Bash", &json!({"command": "git push"}), &rules, &[]).is_none());
        let off = ["no-force-push".to_owned()];
        assert!(
            check(
                "Bash",
                &json!({"command": "git push --force"}),
                &rules,
                &off
            )
            .is_none()
        );
    }

    /// Finding 7: each bypass the probe found, and the false positive, through `check`.
    #[test]
    fn finding_07_the_probes_bypasses_are_denied_and_echo_passes() {
        for bypass in [
            r"\rm -rf /",
            r#""rm" -rf /"#,
            "rm -rf //",
            "rm -rf ${HOME}/",
            "rm -rf ~/.",
            "rm -rf $HOME/.",
            "rm -rf /usr/..",
            "find / -delete",
        ] {
            let reason = denied(bypass).unwrap_or_else(|| panic!("`{bypass}` passed"));
            assert!(reason.contains("rm-rf-root"), "{reason}");
        }
        for fine in [
            "echo rm -rf /",
            r#"grep "rm -rf /" file"#,
            "grep -r 'rm -rf ~' .",
            "git commit -m 'never rm -rf /'",
            "printf '%s' \"$(echo rm -rf /)\"",
        ] {
            assert_eq!(denied(fine), None, "{fine}");
        }
    }

    #[test]
    fn dangerous_deletions_in_any_spelling_are_denied() {
        for bad in [
            // Flags in every spelling, before or after the operand.
            "rm -Rf /",
            "rm -fR /",
            "rm -r /",
            "rm -rfv /",
            "rm --recursive /",
            "rm --rec --force /",
            "rm / -rf",
            "rm -rf -- /",
            "rm -rf --no-preserve-root /",
            // Quotes, escapes and ANSI-C strings.
            "'rm' '-rf' '/'",
            r"r\m -rf /",
            "$'\\x72m' -rf /",
            "rm -rf \"/\"",
            // Paths in any spelling.
            "rm -rf ///",
            "rm -rf /./",
            "rm -rf /usr/../",
            "rm -rf /../..",
            "rm -rf ~",
            "rm -rf ~/",
            "rm -rf ~/*",
            "rm -rf ~/.*",
            "rm -rf \"$HOME\"",
            "rm -rf \"${HOME}\"/",
            "rm -rf ~/..",
            "rm -rf ~/../other",
            "rm -rf ~root",
            "rm -rf /usr",
            "rm -rf /etc/",
            "rm -rf /home",
            "rm -rf /home/dev",
            "rm -rf /Users/dev/",
            "rm -rf /usr/*",
            "rm -rf /u*",
            "rm -rf /*",
            "rm -rf /[ub]*",
            // Where a `cd` went first.
            "cd / && rm -rf *",
            "cd && rm -rf .",
            "cd ~; rm -rf ./*",
            "cd /usr; rm -rf ..",
            // Separators, nesting and prefixes.
            "ls; rm -rf /",
            "true && rm -rf /",
            "false || rm -rf /",
            "ls | rm -rf /",
            "sleep 1 & rm -rf /",
            "ls\nrm -rf /",
            "(rm -rf /)",
            "{ rm -rf /; }",
            "echo $(rm -rf /)",
            "echo \"$(rm -rf /)\"",
            "echo `rm -rf /`",
            "cat <(rm -rf /)",
            "if true; then rm -rf /; fi",
            "while true; do rm -rf /; done",
            "! rm -rf /",
            "sudo -u root rm -rf /",
            "sudo -E -- rm -rf /",
            "doas rm -rf /",
            "env rm -rf /",
            "env -i FOO=1 rm -rf /",
            "env -S 'rm -rf' /",
            "FOO=1 BAR=2 rm -rf /",
            "command rm -rf /",
            "exec rm -rf /",
            "xargs rm -rf /",
            "xargs -n 1 rm -rf /",
            "nice -n 10 rm -rf /",
            "nohup rm -rf / &",
            "time rm -rf /",
            "timeout 5 rm -rf /",
            "timeout -s KILL 5s sudo nice rm -rf /",
            "busybox rm -rf /",
            "/usr/bin/env /bin/rm -rf /",
            // Shells and eval.
            "bash -c 'rm -rf /'",
            "sh -c \"rm -rf $HOME\"",
            "bash -lc 'cd / && rm -rf *'",
            "bash -o pipefail -c 'rm -rf /'",
            "bash -c -- 'rm -rf /'",
            "bash -e -x -c 'rm -rf /'",
            "/bin/zsh -c 'sudo rm -rf ~'",
            "bash -c \"bash -c 'rm -rf /'\"",
            "eval 'rm -rf /'",
            "eval rm -rf /",
            "su -c 'rm -rf /'",
            "su root -c 'rm -rf /'",
            "bash <<EOF\nrm -rf /\nEOF",
            "sh <<< 'rm -rf ~'",
            // find.
            "find / -delete",
            "find ~ -delete",
            "find ~ -type f -delete",
            "find / -exec rm -rf {} +",
            "find /usr -execdir /bin/rm {} \\;",
            "find -L / -mindepth 1 -delete",
            "find ~ -name '*' -delete",
            "find ~ ! -name keep -delete",
            "find ~ -delete -name x",
            "find ~ -name x -o -delete",
            "cd / && find -delete",
        ] {
            let reason = denied(bad).unwrap_or_else(|| panic!("`{bad}` passed"));
            assert!(
                reason.starts_with("Orchestron guard `rm-rf-root`: refusing "),
                "{reason}"
            );
        }
    }

    #[test]
    fn ordinary_commands_pass() {
        for fine in [
            "ls -la /",
            "rm -rf build target",
            "rm -rf ./node_modules",
            "rm -rf /tmp/build",
            "rm -rf /tmp/*",
            "rm -rf /usr/local/lib/x",
            "rm -rf ~/.cache/pip",
            "rm -rf ~/proj/target",
            "rm -rf $HOME/.cache/x",
            "rm -rf *.o",
            "rm -rf ~/*.log",
            "rm -rf /*.txt",
            "rm -f /",
            "rm -f ~",
            "rm -rf \"$DIR\"",
            "rm -rf $TMPDIR/",
            "rm -rf $(mktemp -d)",
            "rm -rf ..",
            "rm -- -rf",
            "rm ./-r /",
            "cd ~/proj && rm -rf *",
            "cd $X && rm -rf *",
            "cd - && rm -rf *",
            "echo rm -rf / > notes.txt",
            "echo 'rm -rf /' | tee x",
            "echo \"rm -rf ~\"",
            "echo '$(rm -rf /)'",
            "echo \\`rm -rf /\\`",
            "ls # rm -rf /",
            "cat <<'EOF'\nrm -rf /\nEOF",
            "cat <<EOF > script.sh\nrm -rf ~\nEOF\nls",
            "bash script.sh <<EOF\nrm -rf /\nEOF",
            "bash -c 'echo rm -rf /'",
            "command -v rm",
            "sudo ls /",
            "man rm",
            "which rm",
            "git rm -r --cached /",
            "docker run --rm -v /:/host alpine",
            "find / -name '*.pyc' -delete",
            "find ~ -name .DS_Store -delete",
            "find . -delete",
            "find /tmp -delete",
            "find / -name x",
            "find / -type f -exec grep -l x {} +",
            "find ~ -exec rm-helper {} \\;",
            "grep -rn 'find / -delete' docs",
            "",
            "   ",
        ] {
            assert_eq!(denied(fine), None, "{fine}");
        }
    }

    #[test]
    fn deep_or_hostile_commands_are_read_in_linear_time_and_never_panic() {
        // Past the depth bound the nested text is not read (and costs no stack).
        let deep = format!(
            "{}rm -rf /{}",
            "bash -c \"".repeat(3) + &"$(".repeat(shell::MAX_DEPTH),
            ")".repeat(shell::MAX_DEPTH)
        );
        assert_eq!(denied(&deep), None);
        let hostile = "$(((`".repeat(100_000) + &"\\".repeat(10_001);
        let started = std::time::Instant::now();
        assert_eq!(denied(&hostile), None);
        let long = "echo a; ".repeat(100_000) + "rm -rf /";
        assert!(denied(&long).is_some());
        let quotes = "'".repeat(100_001) + "\"".repeat(100_001).as_str();
        assert_eq!(denied(&quotes), None);
        // A deep working directory is not copied for every operand.
        let deep_cwd =
            "cd /; ".to_owned() + &"cd a; ".repeat(50_000) + "rm -rf" + &" x".repeat(50_000);
        assert_eq!(denied(&deep_cwd), None);
        let wide_cwd = format!("cd /{}; rm -rf{}", "a".repeat(100_000), " x".repeat(50_000));
        assert_eq!(denied(&wide_cwd), None);
        let back_up =
            "cd /; ".to_owned() + &"cd a; ".repeat(1000) + &"cd ..; ".repeat(1000) + "rm -rf *";
        assert!(denied(&back_up).is_some());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_reason_names_what_would_be_deleted() {
        let reason = denied("rm -rf /usr/..").unwrap();
        assert_eq!(
            reason,
            "Orchestron guard `rm-rf-root`: refusing a recursive `rm` of `/`, the root directory"
        );
        let reason = denied("sudo rm -rf ${HOME}/").unwrap();
        assert!(reason.ends_with("`~`, your home directory"), "{reason}");
        let reason = denied("rm -rf /usr/*").unwrap();
        assert!(
            reason.contains("`/usr/*`, everything in `/usr`, a system directory"),
            "{reason}"
        );
        let reason = denied("find / -delete").unwrap();
        assert!(
            reason.contains("`find` deleting everything under `/`"),
            "{reason}"
        );
    }

    #[test]
    fn project_rules_still_match_the_text_as_written() {
        let rules: Vec<Rule> = serde_json::from_value(json!([
            {"name": "no-echo-rm", "tool": "Bash", "pattern": "echo rm*",
             "decision": "ask", "reason": "why"}
        ]))
        .unwrap();
        let (decision, _) =
            check("Bash", &json!({"command": "echo rm -rf /"}), &rules, &[]).unwrap();
        assert_eq!(decision, Decision::Ask);
        // The shipped rule comes first and is switched off by its old name.
        let off = ["rm-rf-root".to_owned()];
        assert!(check("Bash", &json!({"command": "find / -delete"}), &[], &off).is_none());
    }
}
