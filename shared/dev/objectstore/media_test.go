package objectstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 600)...)

// mediaServer is Files mounted as localstack mounts it, at a clock the
// test moves.
func mediaServer(t *testing.T) (*objectstore.Files, *httptest.Server, *time.Time) {
	now := time.Unix(1_800_000_000, 0)
	files := &objectstore.Files{Root: t.TempDir(), Key: []byte("k"), Now: func() time.Time { return now }}
	srv := httptest.NewServer(files.Handler())
	t.Cleanup(srv.Close)
	files.BaseURL = srv.URL + "/dev/objects"
	return files, srv, &now
}

// post sends the form as a browser does: its fields, then the file.
func post(t *testing.T, url string, fields map[string]string, file []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		mw.WriteField(name, fields[name])
	}
	if file != nil {
		part, _ := mw.CreateFormFile("file", "photo.png")
		part.Write(file)
	}
	mw.Close()
	resp, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp, string(answer)
}

// storedFiles lists every file under root: what a refused upload must not
// have left.
func storedFiles(t *testing.T, root string) []string {
	var found []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, path)
		}
		return nil
	})
	return found
}

func TestUploadFormStoresTheFile(t *testing.T) {
	files, _, _ := mediaServer(t)
	ctx := context.Background()
	key := "media/ws1/up/01J/photo.png"
	form, err := files.PresignPost(ctx, key, "image/png", int64(len(png)), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != files.BaseURL {
		t.Errorf("form URL %s, want %s", form.URL, files.BaseURL)
	}
	resp, body := post(t, form.URL, form.Fields, png)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("POST = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	obj, err := files.Stat(ctx, key)
	if err != nil || obj.Size != int64(len(png)) || obj.ContentType != "image/png" || !bytes.Equal(obj.Head, png[:512]) {
		t.Errorf("Stat = %+v, %v", obj, err)
	}
	data, err := files.Get(ctx, key, int64(len(png)))
	if err != nil || !bytes.Equal(data, png) {
		t.Errorf("Get = %d bytes, %v", len(data), err)
	}
	_, err = files.Get(ctx, key, int64(len(png))-1)
	wantKind(t, err, inbox.KindInvalid)

	link, _ := files.PresignGet(ctx, key, "photo.png", time.Minute)
	get, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if get.StatusCode != 200 || !bytes.Equal(got, png) || get.Header.Get("Content-Type") != "image/png" ||
		get.Header.Get("X-Content-Type-Options") != "nosniff" || get.Header.Get("Content-Disposition") != "attachment; filename=photo.png" ||
		get.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET = %d %v", get.StatusCode, get.Header)
	}

	// A second upload to the same key replaces the file and its type.
	form, _ = files.PresignPost(ctx, key, "text/plain", 10, time.Minute)
	if resp, body := post(t, form.URL, form.Fields, []byte("hello")); resp.StatusCode != 204 {
		t.Fatalf("second POST = %d %s", resp.StatusCode, body)
	}
	if obj, err := files.Stat(ctx, key); err != nil || obj.Size != 5 || obj.ContentType != "text/plain" {
		t.Errorf("Stat after the second upload = %+v, %v", obj, err)
	}
}

func TestUploadFormRefusals(t *testing.T) {
	key := "media/ws1/up/01J/photo.png"
	for _, tt := range []struct {
		name   string
		change func(fields map[string]string, now *time.Time) []byte
		status int
		code   string
	}{
		{"another content type", func(f map[string]string, _ *time.Time) []byte { f["Content-Type"] = "text/html"; return png }, 403, "AccessDenied"},
		{"another key", func(f map[string]string, _ *time.Time) []byte { f["key"] = "media/ws2/up/01J/photo.png"; return png }, 403, "AccessDenied"},
		{"a tampered signature", func(f map[string]string, _ *time.Time) []byte { f["signature"] = strings.Repeat("0", 64); return png }, 403, "AccessDenied"},
		{"a larger size in the policy", func(f map[string]string, _ *time.Time) []byte {
			raw, _ := base64.StdEncoding.DecodeString(f["policy"])
			f["policy"] = base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(`"maxSize":608`), []byte(`"maxSize":6080`), 1))
			return append(png, png...)
		}, 403, "AccessDenied"},
		{"expired", func(_ map[string]string, now *time.Time) []byte { *now = now.Add(16 * time.Minute); return png }, 403, "AccessDenied"},
		{"too large", func(map[string]string, *time.Time) []byte { return append(png, 0) }, 400, "EntityTooLarge"},
		{"empty", func(map[string]string, *time.Time) []byte { return []byte{} }, 400, "EntityTooSmall"},
		{"no file", func(map[string]string, *time.Time) []byte { return nil }, 400, "InvalidArgument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files, _, now := mediaServer(t)
			form, err := files.PresignPost(context.Background(), key, "image/png", int64(len(png)), 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			file := tt.change(form.Fields, now)
			resp, body := post(t, form.URL, form.Fields, file)
			if resp.StatusCode != tt.status || !strings.Contains(body, "<Code>"+tt.code+"</Code>") || resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("POST = %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if stored := storedFiles(t, files.Root); len(stored) != 0 {
				t.Errorf("a refused upload left %v", stored)
			}
			_, err = files.Stat(context.Background(), key)
			wantKind(t, err, inbox.KindNotFound)
		})
	}
}

func TestUploadPreflight(t *testing.T) {
	files, _, _ := mediaServer(t)
	req, _ := http.NewRequest(http.MethodOptions, files.BaseURL, nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("OPTIONS = %d %v", resp.StatusCode, resp.Header)
	}
}

// TestStoredTypes: Put records the type; no object may take a sidecar's
// name; Stat and Get of nothing are KindNotFound.
func TestStoredTypes(t *testing.T) {
	files, _, _ := mediaServer(t)
	ctx := context.Background()
	if err := files.Put(ctx, "exports/demo/1.json", "application/json", func(w io.Writer) error {
		_, err := io.WriteString(w, "{}")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if obj, err := files.Stat(ctx, "exports/demo/1.json"); err != nil || obj.ContentType != "application/json" || obj.Size != 2 {
		t.Errorf("Stat = %+v, %v", obj, err)
	}
	write := func(w io.Writer) error { return nil }
	wantKind(t, files.Put(ctx, "exports/demo/1.json.content-type", "text/plain", write), inbox.KindInvalid)
	_, err := files.PresignPost(ctx, "media/ws1/up/1/a.content-type", "text/plain", 10, time.Minute)
	wantKind(t, err, inbox.KindInvalid)
	_, err = files.Stat(ctx, "exports/demo/1.json.content-type")
	wantKind(t, err, inbox.KindInvalid)
	_, err = files.Stat(ctx, "exports/demo/2.json")
	wantKind(t, err, inbox.KindNotFound)
	_, err = files.Stat(ctx, "exports/demo")
	wantKind(t, err, inbox.KindNotFound)
	_, err = files.Get(ctx, "media/ws1/nothing", 10)
	wantKind(t, err, inbox.KindNotFound)
	_, err = files.Stat(ctx, "../escape")
	wantKind(t, err, inbox.KindInvalid)
}
