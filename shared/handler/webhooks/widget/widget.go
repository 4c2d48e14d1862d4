// Package widget is Parley's embeddable chat widget: one file of plain
// JavaScript (widget.js), with no framework and no build step, that a site
// adds with one tag:
//
//	<script src="https://<api>/chat/<workspace id>/widget.js" async></script>
//
// The webhooks function serves it (GET /chat/{workspaceId}/widget.js); the
// script finds the API and the workspace in its own src. Its budget is
// 30 KB gzipped (widget_test.go).
package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"sync"
)

//go:embed widget.js
var script []byte

// Asset is the script as served: as is and gzipped, each with its ETag.
type Asset struct {
	Script, Gzipped []byte
	ETag, GzipETag  string
}

// Served returns the asset, gzipped on first use rather than at cold start.
var Served = sync.OnceValue(func() Asset {
	sum := sha256.Sum256(script)
	tag := base64.RawURLEncoding.EncodeToString(sum[:12])
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(script)
	_ = zw.Close()
	return Asset{Script: script, Gzipped: buf.Bytes(), ETag: `"` + tag + `"`, GzipETag: `"` + tag + `-gz"`}
})
