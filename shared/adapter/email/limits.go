package email

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jaytaylor/html2text"
)

// What enmime is given is bounded first. Its time grows with size times
// multipart nesting (every open multipart re-reads its children's bytes:
// 282 KB nested 4,000 deep took 9-17 s) and with the part count (about
// 10 KB allocated per part), and html2text holds about 30 times the HTML
// it converts. A message past a limit is filed from its headers and an
// excerpt of its raw text instead (see partialMIME).
//
// Measured (TestParseMIMEBudget): enmime allocates about 10 bytes per byte
// of a text part and takes about 25 ns per byte per open multipart, so
// these keep the worst case near 0.3 s and 40 MB on a free core. Larger mail (SES takes
// up to 40 MB, mostly attachments) is filed partially.
const (
	maxParseBytes = 4 << 20
	// maxParseWork bounds bytes × the multiparts that may be open around
	// them.
	maxParseWork = 8 << 20
	// Real mail nests a handful deep. Multiparts left unclosed make enmime
	// about twice as slow per level (2 KB nested 29 deep took 21 s), so the
	// depth stays where that worst case is a few tens of milliseconds.
	maxMultiparts  = 16
	maxParts       = 500
	maxHTMLConvert = 256 << 10
	maxHeaderBytes = 256 << 10
	maxExcerptScan = 1 << 20
)

// mimeShape is what a pre-scan found of a message's structure. The counts
// are upper bounds: every multipart declares its boundary on a line that
// says "boundary", and every part starts on a line that starts with "--".
type mimeShape struct {
	bytes, work, multiparts, parts int
}

// tooBig says which limit raw is past, or "" when enmime may parse it.
// The scan is one pass over the bytes and stops at the first limit.
func tooBig(raw []byte) string {
	if len(raw) > maxParseBytes {
		return fmt.Sprintf("%d MB, over %d MB", len(raw)>>20, maxParseBytes>>20)
	}
	var s mimeShape
	for rest := raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if containsFold(line, "boundary") {
			if s.multiparts++; s.multiparts > maxMultiparts {
				return fmt.Sprintf("more than %d multipart levels", maxMultiparts)
			}
		}
		if bytes.HasPrefix(line, []byte("--")) {
			if s.parts++; s.parts > maxParts {
				return fmt.Sprintf("more than %d parts", maxParts)
			}
		}
		if s.work += len(line) * max(s.multiparts, 1); s.work > maxParseWork {
			return fmt.Sprintf("too large for its %d multipart levels", s.multiparts)
		}
	}
	return ""
}

// containsFold reports whether s contains the lower-case ASCII word w in
// any case, without allocating.
func containsFold(s []byte, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i]|0x20 == w[0] && bytes.EqualFold(s[i:i+len(w)], []byte(w)) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], []byte(prefix))
}

// headerBlock is raw's header up to and including the blank line that ends
// it, at most maxHeaderBytes (cut at a line end), and the rest.
func headerBlock(raw []byte) (head, rest []byte) {
	end := len(raw)
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(raw, []byte(sep)); i >= 0 && i+len(sep) < end {
			end = i + len(sep)
		}
	}
	head, rest = raw[:end], raw[end:]
	if len(head) > maxHeaderBytes {
		cut := bytes.LastIndexByte(head[:maxHeaderBytes], '\n') + 1
		head, rest = append(head[:cut:cut], "\r\n"...), raw[cut:]
	}
	return head, rest
}

// excerpt is readable text from the start of a message body that was not
// parsed: MIME delimiters and part headers dropped, at most n runes.
func excerpt(body []byte, n int) string {
	if len(body) > maxExcerptScan {
		body = body[:bytes.LastIndexByte(body[:maxExcerptScan], '\n')+1]
	}
	var b strings.Builder
	for rest := body; len(rest) > 0 && b.Len() <= 4*n; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")
		if bytes.HasPrefix(line, []byte("--")) || hasPrefixFold(line, "content-") || hasPrefixFold(line, "mime-version:") {
			continue
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	text := strings.TrimSpace(strings.ReplaceAll(strings.ToValidUTF8(b.String(), "\uFFFD"), "\x00", ""))
	if utf8.RuneCountInString(text) > n {
		text = string([]rune(text)[:n])
	}
	return text
}

// htmlText converts at most maxHTMLConvert bytes of HTML to text, and
// says whether it had to cut.
func htmlText(html string) (string, bool) {
	cut := len(html) > maxHTMLConvert
	if cut {
		html = strings.ToValidUTF8(html[:maxHTMLConvert], "")
	}
	text, err := html2text.FromString(html)
	if err != nil {
		return "", cut
	}
	return text, cut
}
