package objectstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Files stands in for the S3 object store (shared/adapter/objectstore.Files)
// and the media store (shared/adapter/s3link): object key is the file
// Root/key, its content type the sidecar Root/key.content-type. Presigned
// GETs and upload forms are HMAC-signed with Key and served by Handler,
// mounted at BaseURL, until they expire.
type Files struct {
	Root string
	// BaseURL is where Handler is mounted, e.g. http://127.0.0.1:8080/dev/objects.
	BaseURL string
	Key     []byte
	Now     func() time.Time
}

var (
	_ inbox.ObjectStore = (*Files)(nil)
	_ inbox.MediaStore  = (*Files)(nil)
	_ inbox.MediaReader = (*Files)(nil)
)

const (
	// contentTypeSuffix names an object's sidecar; no object may end in
	// it, so an object never overwrites another's type.
	contentTypeSuffix = ".content-type"
	headBytes         = 512
	// maxFormField bounds each form field before the file: a policy is a
	// few hundred bytes.
	maxFormField = 16 << 10
	maxFormParts = 32
)

func (f *Files) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// storable accepts a key inside Root that is not a sidecar's name.
func storable(key string) bool {
	return local(key) && !strings.HasSuffix(key, contentTypeSuffix)
}

// Put writes the object to a temporary file beside it and renames it into
// place, so a reader never sees half a file and a retry replaces it whole.
func (f *Files) Put(ctx context.Context, key, contentType string, write func(io.Writer) error) error {
	if !storable(key) {
		return inbox.Invalid("key", "object name %q is not inside the store", key)
	}
	return f.store(key, contentType, write)
}

// store writes the object to a temporary file, then records its type in
// the sidecar and renames the object into place: a failed write leaves
// nothing, neither object nor type.
func (f *Files) store(key, contentType string, write func(io.Writer) error) error {
	path := filepath.Join(f.Root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return inbox.Internal(err)
	}
	object, err := writeTemp(path, write)
	if object != "" {
		defer os.Remove(object)
	}
	if err != nil {
		return err
	}
	sidecar, err := writeTemp(path, func(w io.Writer) error {
		_, err := io.WriteString(w, contentType)
		return err
	})
	if sidecar != "" {
		defer os.Remove(sidecar)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(sidecar, path+contentTypeSuffix); err != nil {
		return inbox.Internal(err)
	}
	if err := os.Rename(object, path); err != nil {
		return inbox.Internal(err)
	}
	return nil
}

// writeTemp writes a temporary file beside path and returns its name.
func writeTemp(path string, write func(io.Writer) error) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return "", inbox.Internal(err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return tmp.Name(), err
	}
	if err := tmp.Close(); err != nil {
		return tmp.Name(), inbox.Internal(err)
	}
	return tmp.Name(), nil
}

// PresignGet returns BaseURL?key=…&name=…&expires=…&sig=…
func (f *Files) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	expires := strconv.FormatInt(f.now().Add(ttl).Unix(), 10)
	q := url.Values{"key": {key}, "name": {filename}, "expires": {expires}, "sig": {f.sign(key, filename, expires)}}
	return f.BaseURL + "?" + q.Encode(), nil
}

func (f *Files) sign(key, filename, expires string) string {
	return f.mac(key + "\x00" + filename + "\x00" + expires)
}

func (f *Files) mac(message string) string {
	mac := hmac.New(sha256.New, f.Key)
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

// uploadPolicy is what a local upload form allows, as S3's POST policy
// does: one key, one type, 1..MaxSize bytes, until Expires (Unix seconds).
type uploadPolicy struct {
	Key         string `json:"key"`
	ContentType string `json:"contentType"`
	MaxSize     int64  `json:"maxSize"`
	Expires     int64  `json:"expires"`
}

// signPolicy's prefix keeps an upload signature from ever being a GET
// link's, or the reverse.
func (f *Files) signPolicy(policy string) string { return f.mac("post\x00" + policy) }

// PresignPost returns a form Handler accepts as S3 accepts a presigned
// POST: fields key, Content-Type, policy and signature, then the file.
func (f *Files) PresignPost(ctx context.Context, key, contentType string, maxSize int64, ttl time.Duration) (*inbox.UploadForm, error) {
	if !storable(key) {
		return nil, inbox.Invalid("key", "object name %q is not inside the store", key)
	}
	raw, err := json.Marshal(uploadPolicy{Key: key, ContentType: contentType, MaxSize: maxSize, Expires: f.now().Add(ttl).Unix()})
	if err != nil {
		return nil, inbox.Internal(err)
	}
	policy := base64.StdEncoding.EncodeToString(raw)
	return &inbox.UploadForm{URL: f.BaseURL, Fields: map[string]string{
		"key": key, "Content-Type": contentType, "policy": policy, "signature": f.signPolicy(policy),
	}}, nil
}

// open opens a stored object; a missing one (or a folder) is KindNotFound.
func (f *Files) open(key string) (*os.File, fs.FileInfo, error) {
	if !storable(key) {
		return nil, nil, inbox.Invalid("key", "object name %q is not inside the store", key)
	}
	file, err := os.OpenInRoot(f.Root, filepath.FromSlash(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &inbox.Error{Kind: inbox.KindNotFound, Message: "nothing is stored at " + strconv.Quote(key), Err: err}
	}
	if err != nil {
		return nil, nil, &inbox.Error{Kind: inbox.KindInvalid, Message: "object could not be opened", Err: err}
	}
	info, err := file.Stat()
	if err == nil && info.IsDir() {
		err = &inbox.Error{Kind: inbox.KindNotFound, Message: "nothing is stored at " + strconv.Quote(key)}
	}
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return file, info, nil
}

// contentType is the type recorded at upload, or one guessed from the
// name for a file stored before types were recorded.
func (f *Files) contentType(key string) string {
	if side, err := os.OpenInRoot(f.Root, filepath.FromSlash(key)+contentTypeSuffix); err == nil {
		defer side.Close()
		if b, err := io.ReadAll(io.LimitReader(side, 256)); err == nil && len(b) > 0 {
			return string(b)
		}
	}
	switch filepath.Ext(key) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// Stat reads the file's size, recorded type and first 512 bytes.
func (f *Files) Stat(ctx context.Context, key string) (*inbox.StoredObject, error) {
	file, info, err := f.open(key)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	head, err := io.ReadAll(io.LimitReader(file, headBytes))
	if err != nil {
		return nil, inbox.Internal(err)
	}
	return &inbox.StoredObject{Size: info.Size(), ContentType: f.contentType(key), Head: head}, nil
}

// Get reads the whole file; KindInvalid when it has more than max bytes.
func (f *Files) Get(ctx context.Context, key string, max int64) ([]byte, error) {
	file, info, err := f.open(key)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	tooLarge := inbox.Errorf(inbox.KindInvalid, "file %q is larger than %d bytes", key, max)
	if info.Size() > max {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(file, max+1))
	if err != nil {
		return nil, inbox.Internal(err)
	}
	if int64(len(data)) > max {
		return nil, tooLarge
	}
	return data, nil
}

// Handler serves presigned GETs and upload forms as S3 does: 403 for a
// bad or expired signature or a form its policy does not allow, 404 for
// a missing object, 204 for a stored upload. S3 answers the SPA's CORS
// requests from the bucket's rules; here any origin may.
func (f *Files) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			f.serveGet(w, r)
		case http.MethodPost:
			f.servePost(w, r)
		case http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			if h := r.Header.Get("Access-Control-Request-Headers"); h != "" {
				w.Header().Set("Access-Control-Allow-Headers", h)
			}
			w.Header().Set("Access-Control-Max-Age", "3600")
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
			s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
	})
}

func (f *Files) serveGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, name, expires := q.Get("key"), q.Get("name"), q.Get("expires")
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(f.sign(key, name, expires))) || f.now().Unix() > exp {
		http.Error(w, "the link is not valid or has expired", http.StatusForbidden)
		return
	}
	file, _, err := f.open(key)
	if inbox.IsKind(err, inbox.KindNotFound) || inbox.IsKind(err, inbox.KindInvalid) && !storable(key) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "not readable", http.StatusInternalServerError)
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", f.contentType(key))
	w.Header().Set("Content-Disposition", objectstore.Attachment(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, file)
}

// servePost stores a multipart upload the way S3 takes a presigned POST:
// the fields, then the file as field "file"; fields after it are ignored.
// The policy is checked before the file is read, and the file is read to
// at most the policy's size plus one byte.
func (f *Files) servePost(w http.ResponseWriter, r *http.Request) {
	parts, err := r.MultipartReader()
	if err != nil {
		s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data")
		return
	}
	fields := map[string]string{}
	for n := 0; ; n++ {
		part, err := parts.NextPart()
		if err != nil || n == maxFormParts {
			s3Error(w, http.StatusBadRequest, "InvalidArgument", "POST requires exactly one file upload per request.")
			return
		}
		// S3 reads form field names case-insensitively.
		name := strings.ToLower(part.FormName())
		if name != "file" {
			value, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil || len(value) > maxFormField {
				s3Error(w, http.StatusBadRequest, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
				return
			}
			fields[name] = string(value)
			continue
		}
		policy, why := f.checkForm(fields)
		if why != "" {
			s3Error(w, http.StatusForbidden, "AccessDenied", why)
			return
		}
		f.storeUpload(w, policy, part)
		return
	}
}

// checkForm returns the form's policy, or why the form is refused.
func (f *Files) checkForm(fields map[string]string) (*uploadPolicy, string) {
	if !hmac.Equal([]byte(fields["signature"]), []byte(f.signPolicy(fields["policy"]))) {
		return nil, "The request signature we calculated does not match the signature you provided."
	}
	raw, err := base64.StdEncoding.DecodeString(fields["policy"])
	var policy uploadPolicy
	if err == nil {
		err = json.Unmarshal(raw, &policy)
	}
	switch {
	case err != nil:
		return nil, "Invalid Policy: Invalid JSON."
	case f.now().Unix() > policy.Expires:
		return nil, "Invalid according to Policy: Policy expired."
	case fields["key"] != policy.Key || !storable(policy.Key):
		return nil, fmt.Sprintf(`Invalid according to Policy: Policy Condition failed: ["eq", "$key", %q]`, policy.Key)
	case fields["content-type"] != policy.ContentType:
		return nil, fmt.Sprintf(`Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", %q]`, policy.ContentType)
	}
	return &policy, ""
}

func (f *Files) storeUpload(w http.ResponseWriter, policy *uploadPolicy, file io.Reader) {
	err := f.store(policy.Key, policy.ContentType, func(out io.Writer) error {
		n, err := io.Copy(out, io.LimitReader(file, policy.MaxSize+1))
		switch {
		case err != nil:
			return err
		case n > policy.MaxSize:
			return errTooLarge
		case n == 0:
			return errTooSmall
		}
		return nil
	})
	switch {
	case errors.Is(err, errTooLarge):
		s3Error(w, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	case errors.Is(err, errTooSmall):
		s3Error(w, http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
	case err != nil:
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

var (
	errTooLarge = errors.New("larger than the policy allows")
	errTooSmall = errors.New("empty")
)

// s3Error answers as S3 does: an XML Error with a code and a message.
func s3Error(w http.ResponseWriter, status int, code, message string) {
	var escaped bytes.Buffer
	_ = xml.EscapeText(&escaped, []byte(message))
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, escaped.String())
}
