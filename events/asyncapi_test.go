package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// asyncAPIFile documents the live inbox's WebSocket protocol and the bus's
// domain events; its payloads are the schemas in schemas/.
const asyncAPIFile = "asyncapi.json"

// schemaBase is where the schemas' $ids live: schemas/<path> has the $id
// schemaBase+<path>, so a relative $ref means the same file whether a tool
// resolves it by $id (the Go tests) or by file path (AsyncAPI tools).
const schemaBase = "https://parley.example/events/"

// socketOnly are the events that never go on the bus.
var socketOnly = []inbox.EventType{inbox.EventTyping, inbox.EventCountsChanged}

// TestAsyncAPIDocument checks the document's references and that it and
// schemas/ cover every event type the inbox package defines.
func TestAsyncAPIDocument(t *testing.T) {
	doc := readJSON(t, asyncAPIFile)
	if v, _ := doc.(map[string]any)["asyncapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("asyncapi = %q, want an AsyncAPI 3.0 document", v)
	}

	// Every $ref resolves: a pointer into the document, or a schema file
	// (and a pointer into it).
	referenced := map[string]bool{}
	walkRefs(doc, "#", func(at, ref string) {
		file, frag, _ := strings.Cut(ref, "#")
		target := doc
		if file != "" {
			if !strings.HasPrefix(file, "schemas/") || !strings.HasSuffix(file, ".json") {
				t.Errorf("%s: $ref %q is not a file in schemas/", at, ref)
				return
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: $ref %q: %v", at, ref, err)
				return
			}
			referenced[filepath.Clean(file)] = true
			target = readJSON(t, file)
		}
		if _, ok := resolvePointer(target, frag); !ok {
			t.Errorf("%s: $ref %q does not resolve", at, ref)
		}
	})

	// The schema files' own references resolve by file path too, and
	// every event schema is documented.
	err := filepath.WalkDir("schemas", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		s := readJSON(t, path)
		rel, _ := filepath.Rel("schemas", path)
		if id, _ := s.(map[string]any)["$id"].(string); id != schemaBase+filepath.ToSlash(rel) {
			t.Errorf("%s: $id is %q, want %q", path, id, schemaBase+filepath.ToSlash(rel))
		}
		walkRefs(s, path+"#", func(at, ref string) {
			file, frag, _ := strings.Cut(ref, "#")
			target := s
			if file != "" {
				other := filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
				if _, err := os.Stat(other); err != nil {
					t.Errorf("%s: $ref %q: %v", at, ref, err)
					return
				}
				target = readJSON(t, other)
			}
			if _, ok := resolvePointer(target, frag); !ok {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
		})
		if strings.HasSuffix(path, ".schema.json") && !referenced[path] {
			t.Errorf("%s is not referenced by %s", path, asyncAPIFile)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Every event type has a schema and a message whose payload is it; the
	// bus's channel carries every one but the socket-only events.
	schemas := compileSchemas(t)
	types := eventTypes(t)
	messages := lookup(doc, "components", "messages").(map[string]any)
	bus := lookup(doc, "channels", "domainEvents", "messages").(map[string]any)
	for _, typ := range types {
		if _, ok := schemas[typ]; !ok {
			t.Errorf("%s has no schema in schemas/", typ)
		}
		m, ok := messages[string(typ)].(map[string]any)
		if !ok {
			t.Errorf("%s has no message in %s (components.messages)", typ, asyncAPIFile)
			continue
		}
		if ref := lookup(m, "payload", "$ref"); ref != "schemas/"+string(typ)+".schema.json" {
			t.Errorf("message %s: payload is %v, want a $ref to its schema", typ, ref)
		}
		_, onBus := bus[string(typ)]
		if want := !slices.Contains(socketOnly, typ); onBus != want {
			t.Errorf("%s: on the domainEvents channel = %v, want %v", typ, onBus, want)
		}
	}
	for typ := range schemas {
		if !slices.Contains(types, typ) {
			t.Errorf("schemas/ has %s, which is not an inbox.EventType", typ)
		}
	}
}

// TestLiveFramesMatchTheDocument builds the frames agents and visitors
// receive with the inbox package's own fan-out (real writes, their events
// from DynamoDB Local's stream) and validates them against the frame
// messages of the AsyncAPI document, so what it documents cannot drift
// from what is sent.
func TestLiveFramesMatchTheDocument(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, got := streamedStore(ctx, t)
	svc := inboxtest.New(store, inboxtest.Deps{})
	posts := &recordingPoster{}
	live := inbox.NewLive(store, inbox.SystemClock{}, posts)
	frame := compileFrames(t)

	ws := "frames-ws"
	actor := inbox.Actor{WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAdmin}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Frames", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	agent := inbox.Connection{ID: "agent-conn", WorkspaceID: ws, UserID: actor.UserID, Role: actor.Role}
	visitor := inbox.Connection{ID: "visitor-conn", WorkspaceID: ws, VisitorID: "visitor-9"}
	stranger := inbox.Connection{ID: "stranger-conn", WorkspaceID: ws, VisitorID: "visitor-8"}
	for _, c := range []inbox.Connection{agent, visitor, stranger} {
		if err := live.Connect(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	// The visitor writes; an agent replies in the chat and leaves an
	// internal comment.
	chat, err := svc.Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelWebchat, Kind: inbox.KindMessage,
		ProviderID: "visitor-9:c1", From: inbox.Correspondent{Handle: inbox.Handle(inbox.ChannelWebchat, visitor.VisitorID)}, Body: "Is my order shipped?"})
	if err != nil {
		t.Fatal(err)
	}
	convID := chat.Conversation.ID
	reply, _, err := svc.PostMessage(ctx, actor, convID, inbox.OutboundInput{Channel: inbox.ChannelWebchat, Body: "It left this morning."}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PostComment(ctx, actor, convID, inbox.CommentInput{Body: "VIP, check the tracking"}, ""); err != nil {
		t.Fatal(err)
	}
	waitForEvents(t, got, map[inbox.EventType]int{inbox.EventMessageCreated: 3, inbox.EventConversationCreated: 1})
	got.mu.Lock()
	events := slices.Clone(got.events)
	got.mu.Unlock()
	if err := live.FanOut(ctx, events); err != nil {
		t.Fatal(err)
	}

	// Typing both ways and a ping, as the document says clients send them.
	sent := []struct {
		from    inbox.Connection
		message string
		frame   string
	}{
		{visitor, "visitorTyping", `{"type":"typing"}`},
		{agent, "agentTyping", `{"type":"typing","conversationId":"` + convID + `"}`},
		{agent, "ping", `{"type":"ping"}`},
	}
	for _, s := range sent {
		validate(t, frame[s.message], s.message, []byte(s.frame))
		if err := live.Receive(ctx, s.from, []byte(s.frame)); err != nil {
			t.Fatalf("%s: %v", s.frame, err)
		}
	}

	// What each connection received: every frame is one of the document's.
	agentTypes, visitorTypes := map[inbox.EventType]int{}, map[inbox.EventType]int{}
	for _, p := range posts.all() {
		var items []struct {
			Type    inbox.EventType `json:"type"`
			Message *struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		if err := json.Unmarshal(p.frame, &items); err != nil {
			t.Fatalf("a frame to %s is not a JSON array: %v\n%s", p.connectionID, err, p.frame)
		}
		switch {
		case p.connectionID == agent.ID && len(items) == 1 && items[0].Type == "pong":
			validate(t, frame["pong"], "pong", p.frame)
		case p.connectionID == agent.ID:
			validate(t, frame["agentEvents"], "agentEvents", p.frame)
			for _, it := range items {
				agentTypes[it.Type]++
			}
		case p.connectionID == visitor.ID:
			validate(t, frame["visitorEvents"], "visitorEvents", p.frame)
			for _, it := range items {
				visitorTypes[it.Type]++
				if it.Type == inbox.EventMessageCreated && it.Message.ID != reply.ID {
					t.Errorf("the visitor received message %s, which is not the agent's reply %s", it.Message.ID, reply.ID)
				}
			}
		default:
			t.Errorf("%s received a frame meant for no one there: %s", p.connectionID, p.frame)
		}
	}
	for _, typ := range []inbox.EventType{inbox.EventMessageCreated, inbox.EventConversationCreated, inbox.EventConversationUpdated,
		inbox.EventTyping, inbox.EventCountsChanged} {
		if agentTypes[typ] == 0 {
			t.Errorf("the agent received no %s; got %v", typ, agentTypes)
		}
	}
	if want := map[inbox.EventType]int{inbox.EventMessageCreated: 1, inbox.EventTyping: 1}; !maps.Equal(visitorTypes, want) {
		t.Errorf("the visitor received %v, want %v (the reply and the agent's typing only)", visitorTypes, want)
	}

	// Refused frames: the error frame the server sends before it closes.
	for _, bad := range []struct {
		frame  string
		status int
	}{
		{`{"type":`, 400},
		{`{"type":"subscribe"}`, 400},
		{`{"type":"typing"}`, 400}, // an agent's typing names its conversation
		{`{"type":"ping","pad":"` + strings.Repeat("x", inbox.MaxClientFrame) + `"}`, 413},
	} {
		err := live.Receive(ctx, agent, []byte(bad.frame))
		if err == nil {
			t.Errorf("%.40s was accepted", bad.frame)
			continue
		}
		refusal, status := inbox.Refusal(err)
		if status != bad.status {
			t.Errorf("%.40s: status %d, want %d", bad.frame, status, bad.status)
		}
		validate(t, frame["error"], "error", refusal)
	}
}

// TestAgentFramesCarryTheDocumentedTypes fans out one event of every type
// and checks that agents receive exactly the types the document's
// agentEvents frame lists (counts.changed being added by the fan-out).
func TestAgentFramesCarryTheDocumentedTypes(t *testing.T) {
	ctx := context.Background()
	store := dynamotest.Store(t)
	posts := &recordingPoster{}
	live := inbox.NewLive(store, inbox.SystemClock{}, posts)
	ws := "types-ws"
	if err := live.Connect(ctx, inbox.Connection{ID: "agent-conn", WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	var batch []inbox.Event
	for i, typ := range eventTypes(t) {
		id := fmt.Sprintf("event-%d", i)
		batch = append(batch, inbox.Event{ID: id, Seq: id, Type: typ, WorkspaceID: ws})
	}
	if err := live.FanOut(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var received []string
	for _, p := range posts.all() {
		var items []struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(p.frame, &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if !slices.Contains(received, it.Type) {
				received = append(received, it.Type)
			}
		}
	}
	var documented []string
	for _, s := range lookup(readJSON(t, asyncAPIFile), "components", "messages", "agentEvents", "payload", "items", "oneOf").([]any) {
		ref := s.(map[string]any)["$ref"].(string)
		documented = append(documented, strings.TrimSuffix(strings.TrimPrefix(ref, "schemas/"), ".schema.json"))
	}
	slices.Sort(received)
	slices.Sort(documented)
	if !slices.Equal(received, documented) {
		t.Errorf("agents receive %v; the agentEvents frame documents %v", received, documented)
	}
}

type post struct {
	connectionID string
	frame        []byte
}

// recordingPoster keeps every frame Live sends.
type recordingPoster struct {
	mu    sync.Mutex
	posts []post
}

func (r *recordingPoster) Post(_ context.Context, connectionID string, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts = append(r.posts, post{connectionID, slices.Clone(frame)})
	return nil
}

func (r *recordingPoster) all() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.posts)
}

// compileFrames compiles the payload of each live channel message of the
// AsyncAPI document, with its $refs to schemas/ resolved from the files.
func compileFrames(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	abs, err := filepath.Abs(asyncAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// Refs by file path load the files; refs the schemas make by $id load
	// the file that $id names.
	c.UseLoader(jsonschema.SchemeURLLoader{"file": jsonschema.FileLoader{}, "https": schemaLoader{}})
	docURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	out := map[string]*jsonschema.Schema{}
	for name := range lookup(readJSON(t, asyncAPIFile), "channels", "live", "messages").(map[string]any) {
		sch, err := c.Compile(docURL + "#/components/messages/" + name + "/payload")
		if err != nil {
			t.Fatalf("message %s: %v", name, err)
		}
		out[name] = sch
	}
	return out
}

// schemaLoader loads schemaBase+<path> from schemas/<path>.
type schemaLoader struct{}

func (schemaLoader) Load(u string) (any, error) {
	rel, ok := strings.CutPrefix(u, schemaBase)
	if !ok {
		return nil, fmt.Errorf("%s is not one of Parley's schemas", u)
	}
	f, err := os.Open(filepath.Join("schemas", filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

func validate(t *testing.T, sch *jsonschema.Schema, name string, raw []byte) {
	t.Helper()
	if sch == nil {
		t.Fatalf("%s has no message %s", asyncAPIFile, name)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, raw)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("a frame does not match the %s message: %#v\n%s", name, err, raw)
	}
}

// eventTypes reads the EventType constants from the inbox package's
// source, so a type added there must be documented here.
func eventTypes(t *testing.T) []inbox.EventType {
	t.Helper()
	dir := filepath.Join("..", "shared", "inbox")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []inbox.EventType
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "EventType" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("an EventType constant is not a string literal: %v", v)
					}
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, inbox.EventType(s))
				}
			}
		}
	}
	for _, typ := range []inbox.EventType{inbox.EventContactCreated, inbox.EventMessageCreated, inbox.EventTyping, inbox.EventCountsChanged, inbox.EventContactSubscribed} {
		if !slices.Contains(out, typ) {
			t.Fatalf("found no EventType constant %q in %s; has the declaration moved?", typ, dir)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// walkRefs calls fn with every $ref in v and where it is.
func walkRefs(v any, at string, fn func(at, ref string)) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			fn(at, ref)
		}
		for k, child := range v {
			walkRefs(child, at+"/"+k, fn)
		}
	case []any:
		for i, child := range v {
			walkRefs(child, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// resolvePointer follows a JSON pointer (RFC 6901) from a fragment.
func resolvePointer(v any, fragment string) (any, bool) {
	if fragment == "" {
		return v, true
	}
	if !strings.HasPrefix(fragment, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(fragment[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[tok]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(cur) {
				return nil, false
			}
			v = cur[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
