package api

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// decode reads a JSON body strictly: JSON media type, at most MaxBodyBytes,
// no unknown fields, exactly one value.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &inbox.Error{Kind: problem.KindUnsupportedMediaType, Message: "send the body as application/json"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return inbox.Invalid("", "could not read the request body")
	}
	if len(body) > MaxBodyBytes {
		return &inbox.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return inbox.JSONProblem(err, "")
	}
	if dec.More() {
		return inbox.Invalid("", "the body must hold exactly one JSON value")
	}
	return nil
}
