package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/nyaruka/phonenumbers"
)

// ---- the OpenAPI document and response validation ----

var (
	oaDoc      *openapi3.T
	oaDocErr   error // from doc.Validate; TestOpenAPIDocumentIsPublic reports it
	oaRouter   routers.Router
	basePath   string // path prefix of baseURL, stripped before route finding
	httpClient = &http.Client{Timeout: 30 * time.Second}

	mismatchMu sync.Mutex
	mismatches = map[string]int{}
	opsSeen    = map[string]map[int]bool{} // operationId -> statuses validated
)

// loadDocument fetches the document the server serves (so the served copy is
// what is checked), validates it, and builds the router used to find the
// operation of each request. The document has no servers, so the router
// matches the bare path on any host.
func loadDocument() error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return err
	}
	basePath = strings.TrimRight(u.Path, "/")
	resp, err := httpClient.Get(baseURL + "/openapi.json")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	oaDocErr = doc.Validate(loader.Context)
	doc.Servers = nil // route on the bare path, whatever host the server is on
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	oaDoc, oaRouter = doc, router
	return nil
}

var ulidRE = regexp.MustCompile(`\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b`)

// mismatch fails the test and records the problem (by key, which leaves out
// the concrete request so repeats collapse) for the end-of-run summary. It
// is safe to call from goroutines while the test runs.
func mismatch(t testing.TB, key, detail string) {
	t.Helper()
	t.Errorf("OpenAPI mismatch: %s%s", key, detail)
	if _, selfTest := t.(*captureT); selfTest {
		return
	}
	key = ulidRE.ReplaceAllString(key, "<id>")
	if len(key) > 400 {
		key = key[:400] + "…"
	}
	mismatchMu.Lock()
	mismatches[key]++
	mismatchMu.Unlock()
}

// reply is one HTTP exchange, already validated against the document.
type reply struct {
	Method, Path string
	Op           string // the documented operationId
	Status       int
	Header       http.Header
	Body         []byte
}

func (r *reply) String() string {
	body := string(r.Body)
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s %s (%s) → %d %s", r.Method, r.Path, r.Op, r.Status, strings.TrimSpace(body))
}

// replayed reports whether the response repeats an earlier idempotent request.
func (r *reply) replayed() bool { return r.Header.Get("Idempotent-Replayed") == "true" }

// mediaType is the response's Content-Type without parameters.
func (r *reply) mediaType() string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// do sends a request the way the SPA does and validates the response
// against the document. body is nil (no body), a string or []byte (sent as
// is), or any other value (sent as JSON). Content-Type defaults to
// application/json when there is a body; hdr holds extra header name/value
// pairs, and an empty value removes a header. A transport failure ends the
// test; use send from goroutines.
// concurrently releases n requests at once and returns their replies
// (nil for one that failed to send, which is reported).
func concurrently(t testing.TB, n int, request func(i int) (*reply, error)) []*reply {
	t.Helper()
	replies := make([]*reply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := request(i)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			replies[i] = r
		}()
	}
	close(start)
	wg.Wait()
	return replies
}

func do(t testing.TB, method, path, token string, body any, hdr ...string) *reply {
	t.Helper()
	r, err := send(t, method, path, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do without t.Fatal, for goroutines.
func send(t testing.TB, method, path, token string, body any, hdr ...string) (*reply, error) {
	t.Helper()
	return sendVia(t, httpClient, method, path, token, body, hdr...)
}

// doVia is do through another client, such as one that calls from its own
// loopback address (see clientFrom), for routes rate-limited per address.
func doVia(t testing.TB, client *http.Client, method, path, token string, body any, hdr ...string) *reply {
	t.Helper()
	r, err := sendVia(t, client, method, path, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// undocumentedRoutes are development routes of the local stack that the
// OpenAPI document leaves out on purpose; their responses are not validated.
var undocumentedRoutes = []string{"/dev/"}

func undocumented(path string) bool {
	for _, prefix := range undocumentedRoutes {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// sendVia is send through the given client. Bodies other than JSON (a
// Twilio form, SNS's JSON as text/plain) are a string or []byte with their
// Content-Type in hdr; responses of any media type (TwiML, text/plain) are
// validated against the document like JSON ones.
func sendVia(t testing.TB, client *http.Client, method, path, token string, body any, hdr ...string) (*reply, error) {
	t.Helper()
	var raw []byte
	hasBody := true
	switch b := body.(type) {
	case nil:
		hasBody = false
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, err
		}
	}
	header := http.Header{}
	if hasBody {
		header.Set("Content-Type", "application/json")
	}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			header.Del(hdr[i])
		} else {
			header.Set(hdr[i], hdr[i+1])
		}
	}
	var reader io.Reader = http.NoBody
	if hasBody {
		reader = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r := &reply{Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: data}
	if p, _, _ := strings.Cut(path, "?"); undocumented(p) {
		r.Op = "undocumented"
		return r, nil
	}
	validate(t, r, header, raw, hasBody)
	return r, nil
}

// TwiML answers are text/xml, for which kin-openapi has no decoder of its
// own: validate them as text.
func init() { openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.PlainBodyDecoder) }

// validate checks the response against its documented operation, and, when
// the server accepted the request (2xx), checks the request too: the
// document must not forbid what the server serves.
func validate(t testing.TB, r *reply, reqHeader http.Header, reqBody []byte, hasBody bool) {
	t.Helper()
	newReq := func() *http.Request {
		var body io.Reader = http.NoBody
		if hasBody {
			body = bytes.NewReader(reqBody)
		}
		p := strings.TrimPrefix(r.Path, basePath)
		req, err := http.NewRequest(r.Method, "http://parley.test"+p, body)
		if err != nil {
			panic(err)
		}
		req.Header = reqHeader.Clone()
		return req
	}
	req := newReq()
	route, params, err := oaRouter.FindRoute(req)
	if err != nil {
		mismatch(t, fmt.Sprintf("%s %s: no documented operation: %v", r.Method, req.URL.Path, err), "")
		return
	}
	r.Op = route.Operation.OperationID
	if _, selfTest := t.(*captureT); !selfTest {
		mismatchMu.Lock()
		if opsSeen[r.Op] == nil {
			opsSeen[r.Op] = map[int]bool{}
		}
		opsSeen[r.Op][r.Status] = true
		mismatchMu.Unlock()
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // an undocumented status is an error
			MultiError:            true,
		},
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		mismatch(t, fmt.Sprintf("response of %s (%s %s) with status %d: %s", r.Op, r.Method, route.Path, r.Status, flatten(err)),
			fmt.Sprintf("; request %s %s; body: %.300s", r.Method, r.Path, r.Body))
	}
	if r.Status/100 != 2 {
		return
	}
	req = newReq()
	err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	})
	if err != nil {
		mismatch(t, fmt.Sprintf("request to %s (%s %s) was accepted with %d but the document rejects it: %s", r.Op, r.Method, route.Path, r.Status, flatten(err)),
			fmt.Sprintf("; request %s %s", r.Method, r.Path))
	}
}

// flatten renders kin-openapi's nested errors on one line.
func flatten(err error) string {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		parts := make([]string, 0, len(multi))
		for _, e := range multi {
			parts = append(parts, flatten(e))
		}
		return strings.Join(parts, " | ")
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 700 {
		s = s[:700] + "…"
	}
	return s
}

// ---- expectations ----

const anyField = "\x00any"

// Problem is an RFC 9457 problem detail as the API writes it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

// wantProblem asserts a problem+json answer with the status, code and field
// (anyField: any field at all; "": no field).
func wantProblem(t testing.TB, r *reply, status int, code, field string) Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status = %d, want %d", r, r.Status, status)
	}
	if mt := r.mediaType(); mt != "application/problem+json" {
		t.Errorf("%s: Content-Type = %q, want application/problem+json", r, mt)
	}
	var p Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("%s: decode problem: %v", r, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Type != "about:blank" {
		t.Errorf("%s: problem status/title/type = %d/%q/%q, want %d/%q/about:blank", r, p.Status, p.Title, p.Type, status, http.StatusText(status))
	}
	if p.Code != code {
		t.Errorf("%s: problem code = %q, want %q", r, p.Code, code)
	}
	if field != anyField && p.Field != field {
		t.Errorf("%s: problem field = %q, want %q", r, p.Field, field)
	}
	if p.Detail == "" {
		t.Errorf("%s: problem has no detail", r)
	}
	return p
}

// wantJSON asserts the status and decodes the JSON body into a T.
func wantJSON[T any](t testing.TB, r *reply, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("%s: status = %d, want %d", r, r.Status, status)
	}
	if mt := r.mediaType(); mt != "application/json" {
		t.Errorf("%s: Content-Type = %q, want application/json", r, mt)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s: decode: %v", r, err)
	}
	return v
}

// wantText asserts the status and media type of a non-JSON answer (TwiML,
// text/plain) and returns its body.
func wantText(t testing.TB, r *reply, status int, mediaType string) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status = %d, want %d", r, r.Status, status)
	}
	if mt := r.mediaType(); mt != mediaType {
		t.Errorf("%s: Content-Type = %q, want %s", r, mt, mediaType)
	}
	return string(r.Body)
}

func wantStatus(t testing.TB, r *reply, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status = %d, want %d", r, r.Status, status)
	}
}

// ---- API shapes, as the SPA reads them ----

type ChannelConsent struct {
	Status    string    `json:"status"`
	ChangedAt time.Time `json:"changedAt"`
	Source    string    `json:"source"`
	ChangedBy string    `json:"changedBy"`
}

type Contact struct {
	ID             string                    `json:"id"`
	WorkspaceID    string                    `json:"workspaceId"`
	Name           string                    `json:"name"`
	Phones         []string                  `json:"phones"`
	Emails         []string                  `json:"emails"`
	Tags           []string                  `json:"tags"`
	Handles        []string                  `json:"handles"`
	Timezone       string                    `json:"timezone"`
	Consent        map[string]ChannelConsent `json:"consent"`
	Marketing      map[string]bool           `json:"marketing"`
	BotEnabled     bool                      `json:"botEnabled"`
	ConversationID string                    `json:"conversationId"`
	CreatedAt      time.Time                 `json:"createdAt"`
	UpdatedAt      time.Time                 `json:"updatedAt"`
	Version        int64                     `json:"version"`
}

type Conversation struct {
	ID                   string     `json:"id"`
	WorkspaceID          string     `json:"workspaceId"`
	ContactID            string     `json:"contactId"`
	ContactName          string     `json:"contactName"`
	Status               string     `json:"status"`
	Archived             bool       `json:"archived"`
	Unread               bool       `json:"unread"`
	AssigneeID           string     `json:"assigneeId"`
	Bot                  bool       `json:"bot"`
	Labels               []string   `json:"labels"`
	Channels             []string   `json:"channels"`
	Preview              string     `json:"preview"`
	LastMessageAt        *time.Time `json:"lastMessageAt"`
	LastMessageDirection string     `json:"lastMessageDirection"`
	// LastInboundAt is keyed by channel.
	LastInboundAt      map[string]time.Time `json:"lastInboundAt"`
	VisitorOnlineUntil *time.Time           `json:"visitorOnlineUntil"`
	CreatedAt          time.Time            `json:"createdAt"`
	UpdatedAt          time.Time            `json:"updatedAt"`
	Version            int64                `json:"version"`
}

// activity is when the conversation last moved in the inbox.
func (c Conversation) activity() time.Time {
	if c.LastMessageAt != nil {
		return *c.LastMessageAt
	}
	return c.CreatedAt
}

type Attachment struct {
	URL         string `json:"url"`
	Key         string `json:"key,omitempty"`
	ContentType string `json:"contentType"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
}

type Message struct {
	ID             string       `json:"id"`
	WorkspaceID    string       `json:"workspaceId"`
	ConversationID string       `json:"conversationId"`
	Direction      string       `json:"direction"`
	Kind           string       `json:"kind"`
	Internal       bool         `json:"internal"`
	Channel        string       `json:"channel"`
	Body           string       `json:"body"`
	Attachments    []Attachment `json:"attachments"`
	Status         string       `json:"status"`
	ProviderID     string       `json:"providerId"`
	AuthorID       string       `json:"authorId"`
	AuthorName     string       `json:"authorName"`
	ContactID      string       `json:"contactId"`
	Call           *struct {
		Direction       string `json:"direction"`
		Status          string `json:"status"`
		DurationSeconds int    `json:"durationSeconds"`
		RecordingURL    string `json:"recordingUrl"`
	} `json:"call"`
	Email *struct {
		Subject    string   `json:"subject"`
		MessageID  string   `json:"messageId"`
		InReplyTo  string   `json:"inReplyTo"`
		References []string `json:"references"`
		HTML       bool     `json:"html"`
	} `json:"email"`
	Error *struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type Label struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspaceId"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description"`
	Version     int64  `json:"version"`
}

type Workspace struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Settings struct {
		ConversationDeletion bool   `json:"conversationDeletion"`
		Timezone             string `json:"timezone"`
		CallRecording        bool   `json:"callRecording"`
		HelpReply            string `json:"helpReply"`
	} `json:"settings"`
	Version int64 `json:"version"`
}

type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

type BulkResult struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// ---- unique test data ----

// uniq returns a short random lower-case token, to keep names, emails and
// label names of parallel tests (and of reruns against one server) apart.
func uniq() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = alphabet[randInt(len(alphabet))]
	}
	return string(b)
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err)
	}
	return int(v.Int64())
}

var (
	phoneMu sync.Mutex
	// usedPhones starts with the numbers of the signed samples in events/,
	// whose thread the sample replays share.
	usedPhones = map[string]bool{"+14155550142": true, "+14155550100": true}
	areaCodes  = []string{"415", "650", "212", "312", "617", "206", "303", "512", "404", "702", "213", "718", "305", "503", "612"}
)

// newPhone returns a valid US number in E.164 (NPA-555-XXXX) that no other
// test of this run uses.
func newPhone(t testing.TB) string {
	t.Helper()
	phoneMu.Lock()
	defer phoneMu.Unlock()
	for range 1000 {
		p := fmt.Sprintf("+1%s555%04d", areaCodes[randInt(len(areaCodes))], randInt(10000))
		if usedPhones[p] {
			continue
		}
		num, err := phonenumbers.Parse(p, "US")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			continue
		}
		usedPhones[p] = true
		return p
	}
	t.Fatal("could not find an unused valid phone number")
	return ""
}

// ulidLike is a syntactically valid id that no one issued.
func ulidLike() string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01")
	for len(b) < 26 {
		b = append(b, crockford[randInt(len(crockford))])
	}
	return string(b)
}

// ---- domain helpers ----

func createContact(t testing.TB, token string, in map[string]any) Contact {
	t.Helper()
	return wantJSON[Contact](t, do(t, "POST", "/contacts", token, in), http.StatusCreated)
}

func getContact(t testing.TB, token, id string) Contact {
	t.Helper()
	return wantJSON[Contact](t, do(t, "GET", "/contacts/"+id, token, nil), http.StatusOK)
}

func searchContacts(t testing.TB, token string, q url.Values) []Contact {
	t.Helper()
	return wantJSON[Page[Contact]](t, do(t, "GET", "/contacts?"+q.Encode(), token, nil), http.StatusOK).Items
}

// startConversation starts (or finds) the thread for a phone and checks the status.
func startConversation(t testing.TB, token string, in map[string]any, status int) Conversation {
	t.Helper()
	return wantJSON[Conversation](t, do(t, "POST", "/conversations", token, in), status)
}

// newConversation starts a thread with a new contact (a new phone number).
func newConversation(t testing.TB, token, name string) Conversation {
	t.Helper()
	return startConversation(t, token, map[string]any{"phone": newPhone(t), "name": name}, http.StatusCreated)
}

func getConversation(t testing.TB, token, id string) Conversation {
	t.Helper()
	return wantJSON[Conversation](t, do(t, "GET", "/conversations/"+id, token, nil), http.StatusOK)
}

func action(t testing.TB, token, id, verb string) Conversation {
	t.Helper()
	return wantJSON[Conversation](t, do(t, "POST", "/conversations/"+id+"/"+verb, token, nil), http.StatusOK)
}

func postMessage(t testing.TB, token, convID, channel, body string, hdr ...string) Message {
	t.Helper()
	return wantJSON[Message](t, do(t, "POST", "/conversations/"+convID+"/messages", token,
		map[string]any{"channel": channel, "body": body}, hdr...), http.StatusCreated)
}

func createLabel(t testing.TB, name string) Label {
	t.Helper()
	return wantJSON[Label](t, do(t, "POST", "/labels", tok.admin, map[string]any{"name": name, "color": "#22c55e"}), http.StatusCreated)
}

// listMessages reads a whole thread page by page.
func listMessages(t testing.TB, token, convID, query string) []Message {
	t.Helper()
	var all []Message
	cursor := ""
	for range 100 {
		q, _ := url.ParseQuery(query)
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[Message]](t, do(t, "GET", "/conversations/"+convID+"/messages?"+q.Encode(), token, nil), http.StatusOK)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("listMessages: more than 100 pages")
	return nil
}

// listInbox reads the whole inbox (with extra query parameters) page by page,
// checking that each page is in newest-activity-first order and that no
// conversation appears twice.
func listInbox(t testing.TB, token, query string) []Conversation {
	t.Helper()
	var all []Conversation
	seen := map[string]bool{}
	cursor := ""
	for range 200 {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("limit") == "" {
			q.Set("limit", "100")
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations?"+q.Encode(), token, nil), http.StatusOK)
		for i, c := range page.Items {
			if seen[c.ID] {
				t.Errorf("inbox %q: conversation %s listed twice", query, c.ID)
			}
			seen[c.ID] = true
			if c.Archived {
				t.Errorf("inbox %q: archived conversation %s listed", query, c.ID)
			}
			if i > 0 && c.activity().After(page.Items[i-1].activity()) {
				t.Errorf("inbox %q: %s (activity %s) listed after %s (activity %s); want newest activity first",
					query, c.ID, c.activity().Format(time.RFC3339Nano), page.Items[i-1].ID, page.Items[i-1].activity().Format(time.RFC3339Nano))
			}
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("inbox: more than 200 pages")
	return nil
}

func ids[T any](items []T, id func(T) string) map[string]bool {
	out := make(map[string]bool, len(items))
	for _, it := range items {
		out[id(it)] = true
	}
	return out
}

func convIDs(list []Conversation) map[string]bool {
	return ids(list, func(c Conversation) string { return c.ID })
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
