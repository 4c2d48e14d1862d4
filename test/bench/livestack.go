package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The live inbox's timings are taken on the local stack as make dev runs
// it (functions/local, in-memory DynamoDB Local, in its own process), with
// real WebSocket clients: from a signed Twilio webhook's 2xx to the
// message.created event on the agents' sockets. Locally that path is
// DynamoDB Local's stream, polled every localStreamPoll, the publisher's
// Journal and the local bus, the queue in front of the fan-out, and the
// fan-out (its connections Query, its counts read, the socket writes).

// localStreamPoll is the stream poller's interval in shared/dev/localstack.
const localStreamPoll = 100 * time.Millisecond

// liveStack is a started functions/local.
type liveStack struct {
	base, publicURL string
	tokens          devauth.Tokens
	client          *http.Client
	stop            func()
}

const liveTwilioToken = "bench-live-twilio-auth-token"

// startLiveStack builds and starts functions/local on a free port.
func startLiveStack(tmp string) (*liveStack, error) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "parley-local")
	build := exec.Command("go", "build", "-o", bin, "./functions/local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./functions/local: %v\n%s", err, out)
	}
	port, err := dynamolocal.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dataDir := filepath.Join(tmp, "data")
	raw, err := json.Marshal(providers.Set{localstack.DemoWorkspace: {TwilioAuthToken: liveTwilioToken}})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "providers.json"), raw, 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(tmp, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = logFile, logFile
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+dataDir, "PARLEY_IN_MEMORY=1", "PARLEY_TABLE=parley")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s := &liveStack{base: "http://" + addr, publicURL: "https://api.parley.example",
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	s.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	}
	fail := func(err error) (*liveStack, error) {
		s.stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, b[max(0, len(b)-4000):])
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := s.client.Get(s.base + "/openapi.json")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return fail(errors.New("functions/local exited during start-up"))
		case <-time.After(150 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("functions/local did not answer within 90 s"))
		}
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "dev-signing-key"))
	if err != nil {
		return fail(err)
	}
	s.tokens = devauth.Tokens{Key: key}
	return s, nil
}

// sms posts a signed inbound SMS and returns when its 2xx has arrived.
func (s *liveStack) sms(from, body string) (time.Time, error) {
	path := "/webhooks/" + localstack.DemoWorkspace + "/twilio/messages"
	form := url.Values{"MessageSid": {twilioSID(body)}, "AccountSid": {"AC" + strings.Repeat("0", 32)}, "From": {from}, "To": {"+14155550100"},
		"Body": {body}, "NumMedia": {"0"}}
	req, err := http.NewRequest("POST", s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signing.Twilio(liveTwilioToken, s.publicURL+path, form))
	resp, err := s.client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return at, fmt.Errorf("twilio webhook: %s", resp.Status)
	}
	return at, nil
}

// agentSocket is one agent's connection; it notes when each watched
// message body arrives in a message.created event, and counts frames.
type agentSocket struct {
	conn   *websocket.Conn
	seen   func(body string, at time.Time)
	frames int64
	mu     sync.Mutex
	done   chan struct{}
}

func (s *liveStack) dial(ctx context.Context, user string, seen func(string, time.Time)) (*agentSocket, error) {
	token, err := s.tokens.Issue(localstack.DemoWorkspace, user, inbox.RoleAgent, time.Hour)
	if err != nil {
		return nil, err
	}
	u := "ws" + strings.TrimPrefix(s.base, "http") + "/live?" + url.Values{"workspace": {localstack.DemoWorkspace}, "token": {token}}.Encode()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, u, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	a := &agentSocket{conn: conn, seen: seen, done: make(chan struct{})}
	go a.read()
	return a, nil
}

// read decodes only what it needs: each frame is a JSON array of events.
func (a *agentSocket) read() {
	defer close(a.done)
	for {
		_, data, err := a.conn.Read(context.Background())
		at := time.Now()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.frames++
		a.mu.Unlock()
		var events []struct {
			Type    string `json:"type"`
			Message *struct {
				Body string `json:"body"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &events) != nil {
			continue
		}
		for _, e := range events {
			if e.Type == string(inbox.EventMessageCreated) && e.Message != nil {
				a.seen(e.Message.Body, at)
			}
		}
	}
}

func (a *agentSocket) frameCount() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.frames
}

func (a *agentSocket) close() {
	a.conn.Close(websocket.StatusNormalClosure, "")
	<-a.done
}

// arrivals waits for a body to reach want sockets and keeps when each did.
type arrivals struct {
	mu      sync.Mutex
	want    int
	pending map[string]*arrival
}

type arrival struct {
	at   []time.Time
	done chan struct{}
}

func newArrivals(want int) *arrivals { return &arrivals{want: want, pending: map[string]*arrival{}} }

func (r *arrivals) expect(body string) *arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &arrival{done: make(chan struct{})}
	r.pending[body] = a
	return a
}

func (r *arrivals) seen(body string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.pending[body]
	if a == nil || len(a.at) >= r.want {
		return
	}
	a.at = append(a.at, at)
	if len(a.at) == r.want {
		close(a.done)
		delete(r.pending, body)
	}
}

// liveTimings are the latency and fan-out figures of one run.
type liveTimings struct {
	// latency: webhook 2xx to message.created on one agent's socket.
	latency []time.Duration
	// fanOutAll and fanOutFirst: 2xx until all agents', and the first
	// agent's, sockets have it; fanOutLost counts messages that did not
	// reach every socket within liveWait.
	agents                 int
	fanOutAll, fanOutFirst []time.Duration
	fanOutLost             int
	// framesPerMessage is the frames each fan-out socket received per
	// inbound SMS.
	framesPerMessage float64
	// load is the machine's load average (1 minute) before and after: the
	// shared machine's other work shows in the tails.
	load [2]string
}

// loadAverage is the 1-minute load average, or "?" where /proc has none.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// liveWait is how long a message may take to reach every socket.
const liveWait = 10 * time.Second

// measureLiveTimings sends n signed inbound SMS to a local stack with one
// agent connected, then fanN more with agents connected. Each send waits a
// random part of the stream's polling interval first, so sends fall at
// every phase of the poller's tick, and one SMS is in flight at a time.
func measureLiveTimings(n, agents, fanN int) (t liveTimings) {
	tmp, err := os.MkdirTemp("", "parley-bench-live")
	check(err)
	defer os.RemoveAll(tmp)
	s, err := startLiveStack(tmp)
	check(err)
	defer s.stop()
	ctx := context.Background()
	t.load[0] = loadAverage()
	defer func() { t.load[1] = loadAverage() }()
	const senders = 50
	phone := func(i int) string { return fmt.Sprintf("+1617555%04d", i%senders) }

	// One agent. The senders' first messages open their threads (a new
	// contact and conversation): warm-up, not counted.
	one := newArrivals(1)
	agent, err := s.dial(ctx, localstack.DemoAgent, one.seen)
	check(err)
	run := func(r *arrivals, i int, body string) (sent time.Time, a *arrival, err error) {
		time.Sleep(rand.N(localStreamPoll))
		a = r.expect(body)
		sent, err = s.sms(phone(i), body)
		return sent, a, err
	}
	start := time.Now()
	for i := range senders + n {
		body := fmt.Sprintf("Is the shop open today? (bench live %d)", i)
		sent, a, err := run(one, i, body)
		check(err)
		select {
		case <-a.done:
		case <-time.After(liveWait):
			check(fmt.Errorf("message %d did not reach the agent's socket within %s", i, liveWait))
		}
		if i >= senders {
			t.latency = append(t.latency, a.at[0].Sub(sent))
		}
	}
	agent.close()
	fmt.Fprintf(os.Stderr, "live: %d inbound SMS to 1 agent in %s\n", senders+n, time.Since(start).Round(time.Second))
	if agents == 0 || fanN == 0 {
		return t
	}

	// Many agents in the workspace, each their own user.
	t.agents = agents
	all := newArrivals(agents)
	socks := make([]*agentSocket, agents)
	var wg sync.WaitGroup
	errs := make([]error, agents)
	sem := make(chan struct{}, 16)
	for i := range agents {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			socks[i], errs[i] = s.dial(ctx, fmt.Sprintf("bench-agent-%03d", i), all.seen)
		})
	}
	wg.Wait()
	check(errors.Join(errs...))
	defer func() {
		for _, a := range socks {
			a.close()
		}
	}()
	frames := func() (n int64) {
		for _, a := range socks {
			n += a.frameCount()
		}
		return n
	}
	before := frames()
	start = time.Now()
	for i := range fanN {
		body := fmt.Sprintf("Is the shop open today? (bench fan-out %d)", i)
		sent, a, err := run(all, i, body)
		check(err)
		select {
		case <-a.done:
			slices.SortFunc(a.at, func(x, y time.Time) int { return x.Compare(y) })
			t.fanOutFirst = append(t.fanOutFirst, a.at[0].Sub(sent))
			t.fanOutAll = append(t.fanOutAll, a.at[len(a.at)-1].Sub(sent))
		case <-time.After(liveWait):
			t.fanOutLost++
		}
	}
	// Let the last frames (the conversation's change, the badges) land.
	time.Sleep(2 * localStreamPoll)
	t.framesPerMessage = float64(frames()-before) / float64(agents) / float64(fanN)
	fmt.Fprintf(os.Stderr, "live: %d inbound SMS to %d agents in %s\n", fanN, agents, time.Since(start).Round(time.Second))
	return t
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
