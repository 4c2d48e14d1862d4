package e2e_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// hookReceiver is an integrator's endpoint on 127.0.0.1 (the local stack
// admits loopback http for it). It verifies each request's Standard
// Webhooks signature and counts each webhook-id; it can be killed (its
// listener closed, so connections are refused) and restarted on the same
// address.
type hookReceiver struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	secret string
	srv    *http.Server
	// seen counts deliveries per webhook-id; bodies maps an SMS body to
	// the ids it arrived under; badSignatures counts forged-looking ones.
	seen          map[string]int
	bodies        map[string][]string
	badSignatures int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, seen: map[string]int{}, bodies: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.kill)
	return r
}

func (r *hookReceiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
}

func (r *hookReceiver) kill() { _ = r.srv.Close() }

func (r *hookReceiver) restart() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("receiver restart on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *hookReceiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	if err := inbox.VerifyWebhook(r.secret, id, req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body, time.Now()); err != nil {
		r.badSignatures++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var payload struct {
		Type string `json:"type"`
		Data struct {
			Body string `json:"body"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &payload)
	if r.seen[id] == 0 {
		r.bodies[payload.Data.Body] = append(r.bodies[payload.Data.Body], id)
	}
	r.seen[id]++
	_, _ = w.Write([]byte("ok"))
}

// arrived reports the ids each body arrived under, and how often each id came.
func (r *hookReceiver) arrived(body string) (ids []string, counts []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range r.bodies[body] {
		ids = append(ids, id)
		counts = append(counts, r.seen[id])
	}
	return ids, counts
}

func (r *hookReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id]
}

type hookSubscription struct {
	ID                      string   `json:"id"`
	URL                     string   `json:"url"`
	EventTypes              []string `json:"eventTypes"`
	Secret                  string   `json:"secret"`
	Enabled                 bool     `json:"enabled"`
	PreviousSecretExpiresAt string   `json:"previousSecretExpiresAt"`
}

type hookDelivery struct {
	ID       string `json:"id"`
	EventID  string `json:"eventId"`
	Status   string `json:"status"`
	Attempts []struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Replay     bool   `json:"replay"`
		LatencyMs  int    `json:"latencyMs"`
	} `json:"attempts"`
}

// TestOutboundWebhooksLoseNothingAndDoubleNothing: an integrator's
// receiver is killed while events happen; once it is back every event has
// arrived exactly once, signed, and the delivery log shows the failed
// attempts. A replay arrives again under the same webhook-id.
func TestOutboundWebhooksLoseNothingAndDoubleNothing(t *testing.T) {
	const base = "/integrations/webhooks/subscriptions"
	rcv := newHookReceiver(t)
	url := "http://" + rcv.addr + "/hook"

	// Bad input: 4xx, and nothing is created.
	before := wantJSON[struct{ Items []hookSubscription }](t, do(t, "GET", base, tok.admin, nil), http.StatusOK)
	for _, bad := range []map[string]any{
		{"url": "https://10.0.0.1/hook", "eventTypes": []string{"message.received"}},
		{"url": "https://169.254.169.254/latest/meta-data/", "eventTypes": []string{"message.received"}},
		{"url": "https://[::ffff:192.168.1.1]/hook", "eventTypes": []string{"message.received"}},
		{"url": "http://93.184.215.14/hook", "eventTypes": []string{"message.received"}}, // public, but not https
		{"url": "ftp://" + rcv.addr + "/hook", "eventTypes": []string{"message.received"}},
		{"url": url, "eventTypes": []string{"typing"}},
		{"url": url, "eventTypes": []string{}},
	} {
		field := "url"
		if _, ok := bad["eventTypes"].([]string); ok && bad["url"] == url {
			field = "eventTypes"
		}
		wantProblem(t, do(t, "POST", base, tok.admin, bad), http.StatusBadRequest, "invalid", field)
	}
	wantProblem(t, do(t, "POST", base, tok.agent, map[string]any{"url": url, "eventTypes": []string{"message.received"}}), http.StatusForbidden, "forbidden", "")
	after := wantJSON[struct{ Items []hookSubscription }](t, do(t, "GET", base, tok.admin, nil), http.StatusOK)
	if len(after.Items) != len(before.Items) {
		t.Fatalf("bad input created a subscription: %d, then %d", len(before.Items), len(after.Items))
	}

	sub := wantJSON[hookSubscription](t, do(t, "POST", base, tok.admin, map[string]any{"url": url, "eventTypes": []string{"message.received"}, "description": "e2e receiver"}), http.StatusCreated)
	t.Cleanup(func() { do(t, "DELETE", base+"/"+sub.ID, tok.admin, nil) })
	if sub.Secret == "" || !sub.Enabled {
		t.Fatalf("created %+v: want a secret, enabled", sub)
	}
	rcv.mu.Lock()
	rcv.secret = sub.Secret
	rcv.mu.Unlock()
	if got := wantJSON[hookSubscription](t, do(t, "GET", base+"/"+sub.ID, tok.admin, nil), http.StatusOK); got.Secret != "" {
		t.Error("GET shows the secret")
	}

	from := newPhone(t)
	sms := func(n int) string {
		body := "hook e2e " + uniq() + " #" + string(rune('0'+n))
		twilioSMS(t, demoWS, twilioSMSForm(from, body))
		return body
	}
	waitArrived := func(bodies []string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			missing := 0
			for _, b := range bodies {
				if ids, _ := rcv.arrived(b); len(ids) == 0 {
					missing++
				}
			}
			if missing == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events never arrived", missing, len(bodies))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var bodies []string
	for i := range 2 {
		bodies = append(bodies, sms(i))
	}
	waitArrived(bodies, 15*time.Second)

	// The receiver dies; three more messages come in.
	rcv.kill()
	var whileDown []string
	for i := 2; i < 5; i++ {
		whileDown = append(whileDown, sms(i))
	}
	bodies = append(bodies, whileDown...)
	// Every one of them fails at least once before it comes back.
	deadline := time.Now().Add(15 * time.Second)
	for {
		page := wantJSON[struct{ Items []hookDelivery }](t, do(t, "GET", base+"/"+sub.ID+"/deliveries?limit=100", tok.admin, nil), http.StatusOK)
		failing := 0
		for _, d := range page.Items {
			if d.Status == "pending" && len(d.Attempts) > 0 && d.Attempts[0].Error != "" && d.Attempts[0].StatusCode == 0 {
				failing++
			}
		}
		if failing >= len(whileDown) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries failing while the receiver is down, want %d", failing, len(whileDown))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	rcv.restart()
	waitArrived(bodies, 60*time.Second)
	time.Sleep(time.Second) // a duplicate would come now
	for _, b := range bodies {
		ids, counts := rcv.arrived(b)
		if len(ids) != 1 || counts[0] != 1 {
			t.Errorf("%q arrived under ids %v, %v times: want one id, once", b, ids, counts)
		}
	}
	rcv.mu.Lock()
	if rcv.badSignatures != 0 {
		t.Errorf("%d requests failed signature verification", rcv.badSignatures)
	}
	rcv.mu.Unlock()

	// The log shows the failures, then the success.
	page := wantJSON[struct{ Items []hookDelivery }](t, do(t, "GET", base+"/"+sub.ID+"/deliveries?limit=100", tok.admin, nil), http.StatusOK)
	byEvent := map[string]hookDelivery{}
	for _, d := range page.Items {
		byEvent[d.EventID] = d
	}
	for _, b := range whileDown {
		ids, _ := rcv.arrived(b)
		d, ok := byEvent[ids[0]]
		if !ok {
			t.Fatalf("no delivery logged for event %s", ids[0])
		}
		last := d.Attempts[len(d.Attempts)-1]
		if d.Status != "delivered" || len(d.Attempts) < 2 || d.Attempts[0].Error == "" || last.StatusCode != 200 {
			t.Errorf("delivery %s: status %s, attempts %+v; want failures then a 200", d.ID, d.Status, d.Attempts)
		}
	}

	// Replay one: it arrives again under the same webhook-id.
	ids, _ := rcv.arrived(bodies[0])
	first := byEvent[ids[0]]
	replayed := wantJSON[hookDelivery](t, do(t, "POST", base+"/"+sub.ID+"/deliveries/"+first.ID+"/replay", tok.admin, nil), http.StatusAccepted)
	if replayed.Status != "pending" {
		t.Errorf("replay answered %s, want pending", replayed.Status)
	}
	deadline = time.Now().Add(15 * time.Second)
	for rcv.count(first.EventID) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("replay of %s never arrived", first.EventID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d := wantJSON[hookDelivery](t, do(t, "GET", base+"/"+sub.ID+"/deliveries/"+first.ID, tok.admin, nil), http.StatusOK)
	if !d.Attempts[len(d.Attempts)-1].Replay || d.Status != "delivered" {
		t.Errorf("replayed delivery %+v: want a last attempt marked replay, delivered", d)
	}

	// Bulk replay is bounded to 7 days; a rotation answers the new secret once.
	wantProblem(t, do(t, "POST", base+"/"+sub.ID+"/replay", tok.admin, map[string]any{"since": time.Now().Add(-8 * 24 * time.Hour).UTC().Format(time.RFC3339)}), http.StatusBadRequest, "invalid", "since")
	wantJSON[map[string]any](t, do(t, "POST", base+"/"+sub.ID+"/replay", tok.admin, map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}), http.StatusAccepted)
	rotated := wantJSON[hookSubscription](t, do(t, "POST", base+"/"+sub.ID+"/rotate-secret", tok.admin, nil), http.StatusOK)
	if rotated.Secret == "" || rotated.Secret == sub.Secret || rotated.PreviousSecretExpiresAt == "" {
		t.Errorf("rotated: %+v", rotated)
	}

	// Disabled by an admin, it takes no replay until enabled again.
	off := wantJSON[hookSubscription](t, do(t, "PATCH", base+"/"+sub.ID, tok.admin, map[string]any{"enabled": false}), http.StatusOK)
	if off.Enabled || off.Secret != "" {
		t.Errorf("disabled: %+v", off)
	}
	wantProblem(t, do(t, "POST", base+"/"+sub.ID+"/deliveries/"+first.ID+"/replay", tok.admin, nil), http.StatusConflict, "conflict", "")
	wantProblem(t, do(t, "PATCH", base+"/"+sub.ID, tok.admin, map[string]any{"url": "https://10.1.2.3/"}), http.StatusBadRequest, "invalid", "url")
	if on := wantJSON[hookSubscription](t, do(t, "PATCH", base+"/"+sub.ID, tok.admin, map[string]any{"enabled": true}), http.StatusOK); !on.Enabled || on.URL != url {
		t.Errorf("enabled again: %+v", on)
	}
}
