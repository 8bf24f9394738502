//! Line numbers for JSON array elements. `serde_json` reports where the syntax breaks, but a
//! well-formed file with a bad value (a negative bandwidth in element 812) needs the line of
//! that element too; this scanner finds it without a second parser.

/// The 1-based line of each element of the array whose `[` is at byte `open`.
pub(crate) fn array_element_lines(text: &str, open: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut line = 1 + bytes[..open.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut expect_element = false;
    for &b in &bytes[open.min(bytes.len())..] {
        if b == b'\n' {
            line += 1;
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        if depth == 1 && expect_element && b != b']' {
            lines.push(line);
            expect_element = false;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    expect_element = true;
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => expect_element = true,
            _ => {}
        }
    }
    lines
}

/// The line of element `index` of the array that follows `"key"`, if the text has one.
pub(crate) fn line_of_keyed_element(text: &str, key: &str, index: usize) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)?;
    let open = at + text[at..].find('[')?;
    array_element_lines(text, open).get(index).copied()
}

/// The line of element `index` of the top-level array.
pub(crate) fn line_of_top_element(text: &str, index: usize) -> Option<usize> {
    let open = text.find('[')?;
    array_element_lines(text, open).get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_element_lines() {
        let text = "[\n {\"a\": \"[,\"},\n {\"a\": 2}, {\"a\": [1,\n2]}\n]";
        assert_eq!(array_element_lines(text, 0), vec![2, 3, 3]);
        assert_eq!(line_of_top_element(text, 2), Some(3));
        let movie = "{\"x\": 1,\n \"s\": [\n[1,2],\n[3,4]]}";
        assert_eq!(line_of_keyed_element(movie, "s", 1), Some(4));
        assert_eq!(line_of_keyed_element(movie, "t", 0), None);
    }
}
