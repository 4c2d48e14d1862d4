// Package localstack runs Parley in one process for development: DynamoDB
// Local, the table from the same schema the CDK stack uses, a seeded
// workspace, and the HTTP API, with development tokens instead of Cognito.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/dynamo"
	"github.com/parley-inbox/parley/shared/dynamolocal"
	"github.com/parley-inbox/parley/shared/httpapi"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The seeded workspace and its two users.
const (
	DemoWorkspace = "demo"
	DemoAdmin     = "admin-demo"
	DemoAgent     = "agent-demo"
	tokenTTL      = 30 * 24 * time.Hour
)

// Run serves until ctx is cancelled, then stops everything it started.
func Run(ctx context.Context, cfg config.Local, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	endpoint := cfg.DynamoDBEndpoint
	if endpoint == "" {
		opts := dynamolocal.Options{}
		if !cfg.InMemory {
			opts.DBPath = filepath.Join(cfg.DataDir, "dynamodb")
			fmt.Sscan(cfg.DynamoDBPort, &opts.Port)
		}
		srv, err := dynamolocal.Start(ctx, opts)
		if err != nil {
			return err
		}
		defer srv.Stop()
		endpoint = srv.Endpoint
	}
	client := dynamolocal.Client(endpoint)
	if err := dynamo.EnsureTable(ctx, client, cfg.TableName); err != nil {
		return err
	}
	keys, err := loadKeys(cfg.DataDir)
	if err != nil {
		return err
	}
	store := dynamo.New(client, cfg.TableName, keys.cursor)
	if err := Seed(ctx, store); err != nil {
		return err
	}
	tokens := auth.DevTokens{Key: keys.signing}
	api := httpapi.New(inbox.NewService(store), store, tokens, log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	if err := printBanner(out, "http://"+ln.Addr().String(), endpoint, tokens); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = server.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Seed creates the demo workspace and users if they are missing.
func Seed(ctx context.Context, store *dynamo.Store) error {
	now := time.Now().UTC()
	w := &inbox.Workspace{ID: DemoWorkspace, Name: "Demo workspace", CreatedAt: now, UpdatedAt: now,
		Settings: inbox.WorkspaceSettings{ConversationDeletion: true, Timezone: "America/New_York"}}
	if err := store.PutWorkspace(ctx, w); err != nil && !inbox.IsKind(err, inbox.KindConflict) {
		return err
	}
	for _, u := range []inbox.User{
		{ID: DemoAdmin, Name: "Ada Admin", Email: "ada@example.com", Role: inbox.RoleAdmin},
		{ID: DemoAgent, Name: "Alex Agent", Email: "alex@example.com", Role: inbox.RoleAgent},
	} {
		u.WorkspaceID, u.CreatedAt = DemoWorkspace, now
		if err := store.PutUser(ctx, &u); err != nil {
			return err
		}
	}
	return nil
}

type devKeys struct{ signing, cursor []byte }

// loadKeys reads the development keys from dataDir, creating them on first run.
func loadKeys(dataDir string) (devKeys, error) {
	signing, err := keyFile(filepath.Join(dataDir, "dev-signing-key"))
	if err != nil {
		return devKeys{}, err
	}
	cursor, err := keyFile(filepath.Join(dataDir, "dev-cursor-key"))
	return devKeys{signing: signing, cursor: cursor}, err
}

func keyFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	key := []byte(hex.EncodeToString(buf))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, key, 0o600)
}

// Token prints a development token for the demo admin or agent.
func Token(cfg config.Local, role inbox.Role) (string, error) {
	if !role.Valid() {
		return "", fmt.Errorf("role must be admin or agent, not %q", role)
	}
	keys, err := loadKeys(cfg.DataDir)
	if err != nil {
		return "", err
	}
	user := DemoAdmin
	if role == inbox.RoleAgent {
		user = DemoAgent
	}
	return auth.DevTokens{Key: keys.signing}.Issue(DemoWorkspace, user, role, tokenTTL)
}

func printBanner(out io.Writer, url, dynamoEndpoint string, tokens auth.DevTokens) error {
	admin, err := tokens.Issue(DemoWorkspace, DemoAdmin, inbox.RoleAdmin, tokenTTL)
	if err != nil {
		return err
	}
	agent, err := tokens.Issue(DemoWorkspace, DemoAgent, inbox.RoleAgent, tokenTTL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, `
Parley is running at %[1]s  (DynamoDB Local: %[2]s)
Workspace %[3]q: admin %[4]q, agent %[5]q. Tokens are valid for 30 days.

  ADMIN_TOKEN=%[6]s
  AGENT_TOKEN=%[7]s

Try it:
  curl -s -X POST %[1]s/conversations -H 'Authorization: Bearer %[6]s' -H 'Content-Type: application/json' -d '{"phone":"+14155550123","name":"Jo Customer"}'
  curl -s %[1]s/conversations -H 'Authorization: Bearer %[6]s'

API document: %[1]s/openapi.json   Press Ctrl-C to stop.
`, url, dynamoEndpoint, DemoWorkspace, DemoAdmin, DemoAgent, admin, agent)
	return err
}
