// Package e2e_test drives Parley's HTTP API end to end, the way the SPA does:
// a real server (functions/local, with DynamoDB Local in memory), real HTTP,
// and every response checked against the OpenAPI document the server serves.
//
// The public routes are driven the way their callers drive them: the
// channel providers' webhooks (Twilio form posts, Meta JSON, SNS
// notifications for SES mail), signed with the local stack's test secrets,
// and the web chat widget's routes with visitor tokens.
//
// By default TestMain builds and starts the local stack on free ports and
// stops it afterwards; it writes the stack's providers.json (the test
// secrets, for demo and a second workspace, settingsWS) before the start
// and seeds settingsWS's record after it. To test a server that is already
// running, set PARLEY_E2E_BASE_URL (such as http://127.0.0.1:8080) and
// PARLEY_E2E_DATA_DIR (its PARLEY_DATA_DIR, where the development signing
// key lives and where inbound mail is staged), and PARLEY_E2E_PUBLIC_URL if
// its PARLEY_PUBLIC_URL is not the default; tests that need settingsWS skip
// when the server does not know it.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The seeded workspace and its users (see shared/dev/localstack), and a second
// tenant that has no workspace record of its own.
const (
	demoWS    = "demo"
	demoAdmin = "admin-demo"
	demoAgent = "agent-demo"
	otherWS   = "other-ws"
	intruder  = "intruder"
)

// Tokens for the callers the tests play.
var tok struct {
	admin, agent string // demo workspace
	other        string // admin of otherWS
	otherAgent   string // agent of otherWS
	expired      string // demo admin, already expired
	forged       string // demo admin, signed with the wrong key
	// settingsAdmin is an admin of settingsWS.
	settingsAdmin string
	// assignAdmin is an admin of assignWS.
	assignAdmin string
}

// devTokens signs tokens the server accepts, for tests that need odd claims.
var devTokens devauth.Tokens

// baseURL is the API under test, without a trailing slash.
var baseURL string

// stackDataDir is the server's PARLEY_DATA_DIR: the development keys, the
// provider secrets (providers.json) and mail/, where the local stand-in for
// S3 reads the raw emails that SES notifications name.
var stackDataDir string

// publicURL is the base URL providers sign webhooks for: the local stack's
// PARLEY_PUBLIC_URL, whose default the signed samples in events/ use.
var publicURL = "https://api.parley.example"

// settingsWS is a second workspace with the same test provider secrets as
// demo, which the suite seeds in the stack it starts. Webhooks cache a
// workspace's settings for a minute, so tests that change callRecording or
// helpReply and then watch a webhook use it, leaving demo's defaults alone.
const settingsWS = "e2e-settings"

// dynamoEndpoint is the DynamoDB Local the started stack uses (from its
// banner), for the few checks HTTP cannot make, such as that a deleted
// thread left no messages behind. Empty against PARLEY_E2E_BASE_URL.
var dynamoEndpoint string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	start := time.Now()
	var dataDir string
	if u := os.Getenv("PARLEY_E2E_PUBLIC_URL"); u != "" {
		publicURL = strings.TrimRight(u, "/")
	}
	if u := os.Getenv("PARLEY_E2E_BASE_URL"); u != "" {
		baseURL = strings.TrimRight(u, "/")
		dataDir = os.Getenv("PARLEY_E2E_DATA_DIR")
		if dataDir == "" {
			fmt.Fprintln(os.Stderr, "e2e: PARLEY_E2E_BASE_URL is set but PARLEY_E2E_DATA_DIR is not; it must name the server's PARLEY_DATA_DIR")
			return 2
		}
		if err := waitReady(baseURL, nil, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 2
		}
	} else {
		tmp, err := os.MkdirTemp("", "parley-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 2
		}
		defer os.RemoveAll(tmp)
		dataDir = filepath.Join(tmp, "data")
		stop, err := startStack(tmp, dataDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: start the local stack:", err)
			return 2
		}
		defer stop()
	}
	stackDataDir = dataDir
	if err := mintTokens(dataDir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	if err := loadDocument(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: OpenAPI document:", err)
		return 2
	}
	fmt.Printf("e2e: server ready at %s after %s\n", baseURL, time.Since(start).Round(time.Millisecond))
	code := m.Run()
	printMismatches()
	return code
}

// startStack builds functions/local, starts it on a free port with an
// in-memory DynamoDB Local, and waits until it serves. stop sends SIGTERM
// and waits, so the binary stops its DynamoDB Local child.
func startStack(tmp, dataDir string) (stop func(), err error) {
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
	if err := writeProviders(dataDir); err != nil {
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
	cmd.Env = append(environWithout("PARLEY_"),
		"PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+dataDir, "PARLEY_IN_MEMORY=1", "PARLEY_TABLE=parley",
		fmt.Sprintf("PARLEY_TIME_SCALE=%d", timeScale),
		// Exports past this many messages run in the background, so the
		// suite reaches that path with a thread of tens of messages.
		fmt.Sprintf("PARLEY_EXPORT_INLINE_MAX=%d", exportInlineMax),
		// Outbound webhooks retry in seconds, not days: the first waits are
		// milliseconds, the 2-hour one 3.6 s.
		"PARLEY_WEBHOOK_BACKOFF_SCALE=0.0005")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			fmt.Fprintln(os.Stderr, "e2e: the server did not stop within 15s of SIGTERM; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if os.Getenv("PARLEY_E2E_SERVER_LOG") != "" {
			if b, err := os.ReadFile(logPath); err == nil {
				fmt.Fprintf(os.Stderr, "---- server log ----\n%s\n", b)
			}
		}
	}
	baseURL = "http://" + addr
	if err := waitReady(baseURL, exited, 60*time.Second); err != nil {
		stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, tail(b, 4000))
	}
	// The banner follows the first answer by a moment.
	for deadline := time.Now().Add(5 * time.Second); dynamoEndpoint == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(logPath); err == nil {
			if m := dynamoBanner.FindSubmatch(b); m != nil {
				dynamoEndpoint = string(m[1])
			}
		}
	}
	if err := seedSettingsWorkspace(); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// writeProviders writes the stack's provider secrets before it starts: the
// test secrets the samples are signed with, for demo and for settingsWS.
func writeProviders(dataDir string) error {
	creds := providers.Credentials{
		TwilioAuthToken: twilioAuthToken,
		// Inbound MMS media is fetched (from the local stand-in) with the
		// account of the Twilio samples.
		TwilioAccountSID: "ACd16c3a35ed0e2b33ff27d4d3ca80aa23",
		MetaAppSecret:    metaAppSecret,
		MetaVerifyToken:  metaVerifyToken,
		// WhatsApp media ids are looked up with a token.
		WhatsAppToken: "whatsapp-test-token",
		// Template status webhooks name it as their entry id.
		WhatsAppBusinessAccountID: testWABA,
		SNSTopicARN:               snsTopicARN,
		WebChat:                   true,

		EventsSigningSecret: eventsSigningSecret,
		StripeSecretKey:     stripeSecretKey,
		StripeWebhookSecret: stripeWebhookSecret,
	}
	raw, err := json.MarshalIndent(providers.Set{demoWS: creds, settingsWS: creds, assignWS: creds}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, "providers.json"), raw, 0o600)
}

// seedSettingsWorkspace creates the records of settingsWS and assignWS, which only
// the seeded demo workspace has otherwise. There is no API to create one.
func seedSettingsWorkspace() error {
	if dynamoEndpoint == "" {
		return errors.New("the stack printed no DynamoDB Local endpoint; cannot seed " + settingsWS)
	}
	now := time.Now().UTC()
	store := dynamo.New(dynamolocal.Client(dynamoEndpoint), "parley", []byte("e2e-seed-cursor-key-not-used-here"))
	for ws, name := range map[string]string{settingsWS: "E2E settings workspace", assignWS: "E2E assignment workspace"} {
		err := store.PutWorkspace(context.Background(), &inbox.Workspace{ID: ws, Name: name,
			Settings: inbox.WorkspaceSettings{Timezone: "UTC"}, CreatedAt: now, UpdatedAt: now})
		if err != nil && !inbox.IsKind(err, inbox.KindConflict) {
			return fmt.Errorf("seed workspace %s: %w", ws, err)
		}
	}
	return nil
}

// waitReady polls GET /openapi.json until it answers 200.
func waitReady(base string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the server exited during start-up")
		default:
		}
		resp, err := client.Get(base + "/openapi.json")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /openapi.json: %s", resp.Status)
		}
		last = err
		time.Sleep(150 * time.Millisecond)
	}
	return fmt.Errorf("the server at %s did not answer GET /openapi.json with 200 within %s (last: %v)", base, timeout, last)
}

func mintTokens(dataDir string) error {
	key, err := os.ReadFile(filepath.Join(dataDir, "dev-signing-key"))
	if err != nil {
		return fmt.Errorf("read the development signing key: %w", err)
	}
	dev := devauth.Tokens{Key: key}
	devTokens = dev
	issue := func(d devauth.Tokens, ws, user string, role inbox.Role, ttl time.Duration) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = d.Issue(ws, user, role, ttl)
		return s
	}
	tok.admin = issue(dev, demoWS, demoAdmin, inbox.RoleAdmin, time.Hour)
	tok.agent = issue(dev, demoWS, demoAgent, inbox.RoleAgent, time.Hour)
	tok.other = issue(dev, otherWS, intruder, inbox.RoleAdmin, time.Hour)
	tok.otherAgent = issue(dev, otherWS, "intruder-agent", inbox.RoleAgent, time.Hour)
	tok.expired = issue(dev, demoWS, demoAdmin, inbox.RoleAdmin, -time.Minute)
	tok.forged = issue(devauth.Tokens{Key: bytes.Repeat([]byte("k"), 64)}, demoWS, demoAdmin, inbox.RoleAdmin, time.Hour)
	tok.settingsAdmin = issue(dev, settingsWS, "admin-settings", inbox.RoleAdmin, time.Hour)
	tok.assignAdmin = issue(dev, assignWS, "admin-assign", inbox.RoleAdmin, time.Hour)
	return err
}

var dynamoBanner = regexp.MustCompile(`DynamoDB Local: (http://[0-9.:]+)`)

// environWithout drops variables with the prefix, so a developer's own
// PARLEY_* settings (such as PARLEY_DYNAMODB_ENDPOINT) cannot leak in.
func environWithout(prefix string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// printMismatches lists every distinct disagreement between the server and
// the OpenAPI document seen during the run, so one look shows what to fix.
func printMismatches() {
	mismatchMu.Lock()
	defer mismatchMu.Unlock()
	var unseen []string
	statuses := 0
	for _, item := range oaDoc.Paths.Map() {
		for _, op := range item.Operations() {
			if len(opsSeen[op.OperationID]) == 0 {
				unseen = append(unseen, op.OperationID)
			}
		}
	}
	for _, st := range opsSeen {
		statuses += len(st)
	}
	sort.Strings(unseen)
	fmt.Printf("e2e: validated %d operation/status pairs over %d operations", statuses, len(opsSeen))
	if len(unseen) > 0 {
		fmt.Printf("; never called: %s", strings.Join(unseen, ", "))
	}
	fmt.Println()
	if len(mismatches) == 0 {
		return
	}
	keys := make([]string, 0, len(mismatches))
	for k := range mismatches {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("\ne2e: %d distinct response/request mismatches with the OpenAPI document:\n", len(keys))
	for _, k := range keys {
		fmt.Printf("  - %s (seen %d times)\n", k, mismatches[k])
	}
}
