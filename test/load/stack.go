package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// The test secrets the started stack trusts; the same shapes as test/e2e.
const (
	loadTwilioAuthToken = "twilio-load-auth-token"
	loadMetaAppSecret   = "meta-load-app-secret"
	loadMetaVerifyToken = "meta-load-verify-token"
	loadSNSTopicARN     = "arn:aws:sns:us-east-1:123456789012:parley-load-inbound-mail"
)

// stack is the server under load: its base URL, data directory and, when
// this command started it, its pid.
type stack struct {
	baseURL string
	dataDir string
	pid     int
	stop    func()
}

// startStack builds functions/local and starts it on a free loopback port
// with an in-memory DynamoDB Local, as test/e2e's TestMain does.
func startStack(tmp string) (*stack, error) {
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
		"PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+dataDir, "PARLEY_IN_MEMORY=1", "PARLEY_TABLE=parley")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	}
	s := &stack{baseURL: "http://" + addr, dataDir: dataDir, pid: cmd.Process.Pid, stop: stop}
	if err := waitReady(s.baseURL, exited, 60*time.Second); err != nil {
		stop()
		b, _ := os.ReadFile(logPath)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, b)
	}
	return s, nil
}

func writeProviders(dataDir string) error {
	creds := providers.Credentials{
		TwilioAuthToken: loadTwilioAuthToken,
		MetaAppSecret:   loadMetaAppSecret,
		MetaVerifyToken: loadMetaVerifyToken,
		SNSTopicARN:     loadSNSTopicARN,
	}
	raw, err := json.MarshalIndent(providers.Set{workspace: creds}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, "providers.json"), raw, 0o600)
}

// readProviders reads the workspace's secrets from the server's data dir,
// so a server this command did not start is signed for correctly.
func readProviders(dataDir string) (providers.Credentials, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "providers.json"))
	if err != nil {
		return providers.Credentials{}, fmt.Errorf("read the provider secrets: %w", err)
	}
	var set providers.Set
	if err := json.Unmarshal(raw, &set); err != nil {
		return providers.Credentials{}, fmt.Errorf("providers.json: %w", err)
	}
	c, ok := set[workspace]
	if !ok || c.TwilioAuthToken == "" {
		return providers.Credentials{}, fmt.Errorf("providers.json has no Twilio auth token for workspace %q", workspace)
	}
	return c, nil
}

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

// environWithout drops a developer's own PARLEY_* settings.
func environWithout(prefix string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
