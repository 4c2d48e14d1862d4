package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Versioned resources (a contact, the workspace, a label) carry their
// version as a strong entity tag: `ETag: "7"` for version 7. An update
// sent with `If-Match: "7"` is applied only if the stored version is still
// 7; otherwise it answers 412 (code precondition_failed) and writes
// nothing. `If-Match: *` and a request without If-Match apply to any
// version, as before. A weak tag (W/"7") is read as "7".

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// ifMatch reads the If-Match header: nil when absent or "*".
func ifMatch(r *http.Request) (*int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return nil, inbox.Invalid("If-Match", `If-Match is the quoted version an ETag gave, such as "7"`)
	}
	v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64)
	if err != nil || v < 0 {
		return nil, inbox.Invalid("If-Match", `If-Match is the quoted version an ETag gave, such as "7"`)
	}
	return &v, nil
}
