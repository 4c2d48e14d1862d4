// Package localstack runs Parley in one process for development: DynamoDB
// Local, the table from the same schema the CDK stack uses, a seeded
// workspace, and the HTTP API, with development tokens instead of Cognito.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	awsbus "github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/stripelink"
	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/eventbus"
	"github.com/parley-inbox/parley/shared/dev/livesocket"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/providermedia"
	devschedule "github.com/parley-inbox/parley/shared/dev/schedule"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
	"github.com/parley-inbox/parley/shared/dev/streams"
	devwebhookqueue "github.com/parley-inbox/parley/shared/dev/webhookqueue"
	"github.com/parley-inbox/parley/shared/handler/api"
	"github.com/parley-inbox/parley/shared/handler/exporter"
	"github.com/parley-inbox/parley/shared/handler/integrations"
	"github.com/parley-inbox/parley/shared/handler/publisher"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/handler/sender"
	"github.com/parley-inbox/parley/shared/handler/sequences"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
	"github.com/parley-inbox/parley/statemachines"
)

// The seeded workspace, its two users and its machine client.
const (
	DemoWorkspace = "demo"
	DemoAdmin     = "admin-demo"
	DemoAgent     = "agent-demo"
	// DemoClient is the local stand-in for a Cognito app client with
	// client credentials, acting in the demo workspace.
	DemoClient     = "demo-bot"
	demoClientName = "Demo bot"
	tokenTTL       = 30 * 24 * time.Hour
)

// machineClients are the local stack's machine clients, as MACHINE_CLIENTS
// lists a deployment's.
var machineClients = auth.MachineClients{DemoClient: {WorkspaceID: DemoWorkspace, Name: demoClientName}}

// devTokens signs and checks the local stack's tokens.
func devTokens(key []byte) devauth.Tokens {
	return devauth.Tokens{Key: key, Machines: machineClients}
}

// Run serves until ctx is cancelled, then stops everything it started.
func Run(ctx context.Context, cfg config.Local, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	endpoint, stopDB, err := startDynamoDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer stopDB()
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
	fns, err := newFunctions(ctx, client, store, cfg, keys, log)
	if err != nil {
		return err
	}
	// The table's stream feeds the publisher (to the bus) and the sender.
	publish := &publisher.Handler{Journal: store.Journal, Publisher: fns.bus, Log: log}
	poller := &streams.Poller{Tables: client, Streams: dynamolocal.StreamsClient(endpoint), Endpoint: endpoint, Table: cfg.TableName,
		Apply: publish.Apply, OnChange: fns.send.OnChange, Log: log, Every: 100 * time.Millisecond}
	for name, run := range map[string]func(context.Context) error{"local scheduler": fns.scheduler.Run,
		"local step functions executor": fns.executor.Run, "stream poller": poller.Run, "live fan-out": fns.fanOut.Run,
		"media copy": fns.mediaCopies.run} {
		go func() {
			if err := run(ctx); err != nil {
				log.Error(name+" stopped", "err", err)
			}
		}()
	}
	return serve(ctx, cfg.Addr, fns.routes(), func(url string) error {
		fns.files.BaseURL = url + "/dev/objects"
		fns.mediaCopies.start(store, fns.files, fns.providers, cfg.DataDir, url)
		fns.stripe.BaseURL, fns.stripeLinks.BaseURL = url+"/dev/stripe", url+"/dev/stripe"
		fns.stripe.WebhookURL = func(ws string) string {
			return config.WebhookBaseURL(url, cfg.WebhookPathToken) + "/" + ws + "/stripe"
		}
		return printBanner(out, url, endpoint, filepath.Join(cfg.DataDir, "providers.json"), fns.tokens)
	})
}

// startDynamoDB starts DynamoDB Local unless cfg names a running one.
func startDynamoDB(ctx context.Context, cfg config.Local) (endpoint string, stop func(), err error) {
	if cfg.DynamoDBEndpoint != "" {
		return cfg.DynamoDBEndpoint, func() {}, nil
	}
	opts := dynamolocal.Options{}
	if !cfg.InMemory {
		opts.DBPath = filepath.Join(cfg.DataDir, "dynamodb")
		fmt.Sscan(cfg.DynamoDBPort, &opts.Port)
	}
	srv, err := dynamolocal.Start(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	return srv.Endpoint, srv.Stop, nil
}

// functions are the six Lambdas' handlers, each built by the constructor
// its main calls, on local stand-ins for the AWS services.
type functions struct {
	desk      http.Handler
	hooks     *webhooks.Handler
	mail      *webhooks.Handler
	send      *sender.Handler
	steps     *sequences.Handler
	bus       *eventbus.Local
	scheduler *devschedule.Local
	executor  *stepfunctions.Executor
	outbox    *capture.Outbox
	templates *capture.Templates
	tokens    devauth.Tokens
	live      *livesocket.Server
	fanOut    *livesocket.Queue
	exporter  *exporter.Handler
	files     *objectstore.Files
	// Inbound files are copied from the stand-ins of the providers' media.
	providers     providers.Set
	providerMedia *providermedia.Server
	mediaCopies   *mediaCopies
	// integrations delivers outbound webhooks, fed by hookQueue.
	integrations *integrations.Handler
	hookQueue    *devwebhookqueue.Local
	// stripe stands in for Stripe; stripeLinks is the api's real adapter,
	// pointed at it.
	stripe      *capture.Stripe
	stripeLinks *stripelink.Links
}

func newFunctions(ctx context.Context, client dynamo.API, store *dynamo.Store, cfg config.Local, keys devKeys, log *slog.Logger) (*functions, error) {
	providers, err := loadProviders(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	f := &functions{bus: &eventbus.Local{}, outbox: &capture.Outbox{}, templates: &capture.Templates{}, tokens: devTokens(keys.signing),
		providers: providers, providerMedia: &providermedia.Server{}, mediaCopies: newMediaCopies(log)}
	f.bus.Subscribe(func(ctx context.Context, e inbox.Event) {
		log.Info("domain event", "type", e.Type, "workspace", e.WorkspaceID, "conversation", e.ConversationID, "contact", e.ContactID)
	})
	// Sends are captured, not made: GET /dev/outbox shows them.
	senders := map[inbox.Channel]inbox.ChannelSender{}
	for _, ch := range inbox.Channels {
		senders[ch] = f.outbox.Sender(ch)
	}
	// The scheduler and the executor call back into the sender and the
	// sequences function, which need them: they fire through f, filled in
	// just below.
	f.scheduler = &devschedule.Local{DB: client, Table: cfg.TableName, Every: 250 * time.Millisecond, Log: log,
		Fire: func(ctx context.Context, s inbox.Schedule) error { return f.send.Fire(ctx, s) }}
	sequencer, executor, err := localSequencer(client, cfg, func(ctx context.Context, raw json.RawMessage) (any, error) { return f.steps.Handle(ctx, raw) }, log)
	if err != nil {
		return nil, err
	}
	f.executor = executor
	// Files (attachments, exports) are in <data dir>/objects, read and
	// uploaded through links and forms this server signs (/dev/objects).
	f.files = &objectstore.Files{Root: filepath.Join(cfg.DataDir, "objects"), Key: keys.cursor}
	f.send = sender.New(store, senders, f.scheduler, log)
	f.send.Dispatch.UseMedia(f.files)
	f.steps = sequences.New(store, f.scheduler, sequencer)
	settings := webhooks.Settings{Credentials: providers, PublicURL: cfg.PublicURL, PathToken: cfg.WebhookPathToken}
	f.hooks = webhooks.New(store, senders[inbox.ChannelEmail], f.bus, &webhooks.Chat{Key: keys.cursor}, settings, log)
	f.mail = webhooks.NewMail(store,
		&webhooks.EmailIntake{Certs: signing.SNSCerts{}, Objects: objectstore.Dir{Root: filepath.Join(cfg.DataDir, "mail")}}, settings, log)
	// Background exports: files in <data dir>/objects, downloaded through
	// links this server signs and serves (/dev/objects), run in a goroutine
	// as the api's asynchronous invocation of functions/exporter runs them.
	// WhatsApp templates are submitted to a stand-in, not Meta: GET
	// /dev/templates shows them.
	f.exporter = exporter.New(store, f.files, log)
	// Payment links: the api's Stripe adapter calls the stand-in, which
	// pays a link on POST /dev/stripe/pay/{id} by posting a signed event
	// to the webhook route, as Stripe would.
	f.stripe = &capture.Stripe{Secret: func(ws string) string { return providers[ws].StripeWebhookSecret }}
	f.stripeLinks = &stripelink.Links{SecretKey: providers.StripeKey}
	// Outbound webhooks: the same transport as in AWS, but admitting
	// http:// and 127.0.0.1 receivers (a developer's or a test's), fed
	// from the bus through an in-process queue whose retries honour the
	// backoff, scaled by PARLEY_WEBHOOK_BACKOFF_SCALE. Admins' emails go
	// to the outbox.
	transport := &webhookhttp.Client{AllowLoopback: true}
	f.hookQueue = &devwebhookqueue.Local{Ctx: ctx, Log: log, Visibility: time.Second,
		Run: func(ctx context.Context, body []byte) error { return f.integrations.Run(ctx, body) }}
	f.integrations = integrations.New(store, transport, f.hookQueue, f.bus, senders[inbox.ChannelEmail], log)
	f.integrations.Integrations.AllowHTTP = true
	f.integrations.Integrations.BackoffScale = cfg.WebhookBackoffScale
	f.bus.Subscribe(f.hookQueue.AddEvent)
	f.desk = api.New(store, f.scheduler, sequencer,
		api.Exports{Objects: f.files, Runner: asyncExports{ctx: ctx, run: f.exporter.Handle, log: log}, InlineMax: cfg.ExportInlineMax},
		f.tokens, log, api.WithTemplateRegistry(f.templates), api.WithMedia(f.files), api.WithIntegrations(transport, f.hookQueue, true), api.WithPayments(f.stripeLinks),
		api.WithMergeRunner(asyncMerges{ctx: ctx, desk: inbox.NewDesk(store, inbox.SystemClock{}, f.scheduler, sequencer), log: log}),
		api.WithImports(f.files, asyncImports{ctx: ctx, imports: inbox.NewImports(store, inbox.SystemClock{}, f.files, f.files, nil), log: log}))
	f.bus.Subscribe(func(ctx context.Context, e inbox.Event) { f.applyToRuns(ctx, e, log) })
	// The WebSocket API: the bus feeds the fan-out through a queue, as
	// EventBridge feeds functions/realtime through SQS.
	f.live = &livesocket.Server{Gate: realtime.Gate{Agents: f.tokens, Visitors: auth.VisitorTokens{Key: keys.cursor}}, Log: log}
	f.live.Live = inbox.NewLive(store, inbox.SystemClock{}, f.live)
	f.fanOut = livesocket.NewQueue(f.live.Live.FanOut, log)
	f.bus.Subscribe(f.fanOut.Add)
	// functions/media: inbound files copied into f.files, beside exports.
	f.bus.Subscribe(f.mediaCopies.add)
	return f, nil
}

// asyncExports runs an export in a goroutine, as Lambda runs an Event
// invocation of functions/exporter: apart from the request, retried twice.
type asyncExports struct {
	ctx context.Context
	run func(context.Context, lambdainvoke.ExportJob) error
	log *slog.Logger
}

func (a asyncExports) RunExportAsync(_ context.Context, workspaceID, exportID string) error {
	go func() {
		job := lambdainvoke.ExportJob{WorkspaceID: workspaceID, ExportID: exportID}
		for attempt := range 3 {
			ctx, cancel := context.WithTimeout(a.ctx, 5*time.Minute)
			err := a.run(ctx, job)
			cancel()
			if err == nil || a.ctx.Err() != nil {
				return
			}
			a.log.Warn("local exporter: retrying", "export", exportID, "attempt", attempt+1, "err", err)
			time.Sleep(time.Duration(attempt+1) * time.Second)
		}
	}()
	return nil
}

// asyncMerges finishes a long contact merge in a goroutine, as the api's
// asynchronous invocation does in AWS; a failed run is retried twice.
type asyncMerges struct {
	ctx  context.Context
	desk *inbox.Desk
	log  *slog.Logger
}

func (a asyncMerges) RunMergeAsync(_ context.Context, workspaceID, mergeID string) error {
	go func() {
		for attempt := range 3 {
			ctx, cancel := context.WithTimeout(a.ctx, 5*time.Minute)
			_, err := a.desk.ContinueMerge(ctx, workspaceID, mergeID)
			cancel()
			if err == nil || a.ctx.Err() != nil {
				return
			}
			a.log.Warn("local merge: retrying", "merge", mergeID, "attempt", attempt+1, "err", err)
			time.Sleep(time.Duration(attempt+1) * time.Second)
		}
	}()
	return nil
}

// asyncImports runs a contact import in a goroutine, run after run until
// done, as the background function re-invokes itself in AWS.
type asyncImports struct {
	ctx     context.Context
	imports *inbox.Imports
	log     *slog.Logger
}

func (a asyncImports) RunImportAsync(_ context.Context, workspaceID, importID string) error {
	go func() {
		for attempt := 0; attempt < 3 && a.ctx.Err() == nil; {
			im, more, err := a.imports.RunImport(a.ctx, workspaceID, importID)
			if err != nil {
				attempt++
				a.log.Warn("local import: retrying", "import", importID, "attempt", attempt, "err", err)
				time.Sleep(time.Duration(attempt) * time.Second)
				continue
			}
			if !more {
				a.log.Info("local import: finished", "import", importID, "status", im.Status, "rows", im.Rows)
				return
			}
		}
	}()
	return nil
}

// applyToRuns is the sequences function's EventBridge rule: each domain
// event reaches it in EventBridge's envelope, and a failed delivery is
// retried briefly, as EventBridge would.
func (f *functions) applyToRuns(ctx context.Context, e inbox.Event, log *slog.Logger) {
	raw, err := json.Marshal(map[string]any{"detail-type": string(e.Type), "source": awsbus.Source, "detail": e})
	if err != nil {
		log.Error("sequences: event not encoded", "event", e.ID, "err", err)
		return
	}
	for attempt := 0; ; attempt++ {
		_, err := f.steps.Handle(ctx, raw)
		if err == nil {
			return
		}
		if attempt == 3 {
			log.Error("sequences: event not applied", "type", e.Type, "event", e.ID, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
}

// routes serves the public routes as API Gateway would, and the /dev/
// routes that let a developer or a test see what the stand-ins did.
func (f *functions) routes() http.Handler {
	mux := http.NewServeMux()
	hookRoutes := f.hooks.Routes()
	mux.Handle("/webhooks/", hookRoutes)
	mux.Handle("/chat/", hookRoutes)
	mux.Handle("GET /live", f.live)
	// Inbound email is functions/mail's route, named as API Gateway's
	// route key names it (with the path token, when there is one); the
	// pattern is the more specific, so it wins over /webhooks/.
	mux.Handle("POST "+config.WebhookBaseURL("", f.mail.PathToken)+"/{workspaceId}/email", f.mail.MailRoutes())
	mux.HandleFunc("GET /dev/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.bus.Recent(r.URL.Query().Get("workspace"))})
	})
	// A duplicated trigger, as a retried stream batch or schedule would
	// deliver it: the message must not go out twice.
	mux.HandleFunc("POST /dev/deliver", func(w http.ResponseWriter, r *http.Request) {
		var p schedule.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m, err := f.send.Dispatch.Deliver(r.Context(), p.WorkspaceID, inbox.ProviderRef{ConversationID: p.ConversationID, MessageID: p.MessageID})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("GET /dev/templates", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.templates.Submitted(r.URL.Query().Get("workspace"))})
	})
	// The S3 stand-in: presigned downloads (GET) and upload forms (POST,
	// with the browser's CORS preflight).
	mux.Handle("/dev/objects", f.files.Handler())
	// Where providers keep inbound files: PUT /dev/media/{id} registers one.
	f.providerMedia.Routes(mux)
	mux.Handle("/dev/stripe/", http.StripPrefix("/dev/stripe", f.stripe.Handler()))
	mux.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.outbox.List(r.URL.Query().Get("workspace"))})
	})
	mux.Handle("/", f.desk)
	return mux
}

// serve listens on addr, calls ready with the URL it serves, and shuts
// down gracefully when ctx ends.
func serve(ctx context.Context, addr string, h http.Handler, ready func(url string) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	if err := ready("http://" + ln.Addr().String()); err != nil {
		_ = server.Close()
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

// localSequencer runs the drip and automation definitions on the local
// executor, persisted in the same table, with their Task states calling
// invoke in process, as Step Functions calls the sequences Lambda.
func localSequencer(client dynamo.API, cfg config.Local, invoke func(context.Context, json.RawMessage) (any, error), log *slog.Logger) (*stepfunctions.Sequencer, *stepfunctions.Executor, error) {
	task := stepfunctions.InvokerFunc(func(ctx context.Context, _ string, input json.RawMessage, _ string) (json.RawMessage, error) {
		out, err := invoke(ctx, input)
		if err != nil {
			return nil, &stepfunctions.TaskError{Name: "SequencesError", Cause: err.Error()}
		}
		return json.Marshal(out)
	})
	executor := &stepfunctions.Executor{DB: client, Table: cfg.TableName, Scale: cfg.TimeScale, Log: log}
	for name, def := range map[string][]byte{"drip": statemachines.Drip, "automation": statemachines.Automation} {
		m, err := stepfunctions.Load(def, map[string]string{statemachines.FunctionPlaceholder: "arn:aws:lambda:local:000000000000:function:sequences"})
		if err != nil {
			return nil, nil, fmt.Errorf("state machine %s: %w", name, err)
		}
		executor.Register(name, m, task)
	}
	return &stepfunctions.Sequencer{Executor: executor, Machines: map[inbox.SequenceKind]string{
		inbox.SequenceDrip: "drip", inbox.SequenceAutomation: "automation"}}, executor, nil
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
	return devTokens(keys.signing).Issue(DemoWorkspace, user, role, tokenTTL)
}

// MachineToken prints a development access token for the demo machine
// client with the given scopes (short names: messages.write ...), or
// every scope when none is given.
func MachineToken(cfg config.Local, scopes []string) (string, error) {
	if len(scopes) == 0 {
		scopes = strings.Fields(scopeNames())
	}
	for _, s := range scopes {
		if !auth.KnownScope(s) {
			return "", fmt.Errorf("%q is not a scope; the scopes are %s", s, scopeNames())
		}
	}
	keys, err := loadKeys(cfg.DataDir)
	if err != nil {
		return "", err
	}
	return devTokens(keys.signing).IssueMachine(DemoClient, scopes, tokenTTL)
}

func scopeNames() string {
	names := make([]string, len(auth.Scopes))
	for i, s := range auth.Scopes {
		names[i] = s.Name
	}
	return strings.Join(names, " ")
}

func printBanner(out io.Writer, url, dynamoEndpoint, providersFile string, tokens devauth.Tokens) error {
	admin, err := tokens.Issue(DemoWorkspace, DemoAdmin, inbox.RoleAdmin, tokenTTL)
	if err != nil {
		return err
	}
	agent, err := tokens.Issue(DemoWorkspace, DemoAgent, inbox.RoleAgent, tokenTTL)
	if err != nil {
		return err
	}
	machine, err := tokens.IssueMachine(DemoClient, strings.Fields(scopeNames()), tokenTTL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, `
Parley is running at %[1]s  (DynamoDB Local: %[2]s)
Workspace %[3]q: admin %[4]q, agent %[5]q. Tokens are valid for 30 days.

  ADMIN_TOKEN=%[6]s
  AGENT_TOKEN=%[7]s
  MACHINE_TOKEN=%[10]s
  (machine client %[11]q, every scope; fewer with: make -s token ROLE=machine SCOPES="messages.write conversations.read")

Try it:
  curl -s -X POST %[1]s/conversations -H 'Authorization: Bearer %[6]s' -H 'Content-Type: application/json' -d '{"phone":"+14155550123","name":"Jo Customer"}'
  curl -s %[1]s/conversations -H 'Authorization: Bearer %[6]s'

Webhooks: %[1]s/webhooks/%[3]s/{twilio/messages,twilio/status,twilio/calls,meta,email,events,stripe}
  (signed with the test secrets in %[8]s; post a sample with: make invoke EVENT=twilio-sms-inbound)
Web chat: %[1]s/chat/%[3]s/{sessions,messages,heartbeat,email}   Widget: <script src="%[1]s/chat/%[3]s/widget.js" async></script>
WebSocket: %[9]s/live?workspace=%[3]s&token=$AGENT_TOKEN  (or a web chat visitor token)
Domain events: %[1]s/dev/events?workspace=%[3]s   Sends (captured, not made): %[1]s/dev/outbox?workspace=%[3]s
Inbound media is copied from stand-ins of Twilio's and Meta's media: register a file with PUT %[1]s/dev/media/{MediaSid or WhatsApp media id}
WhatsApp templates submitted (to a stand-in, not Meta; approve one with a signed message_template_status_update): %[1]s/dev/templates?workspace=%[3]s
Payment links (a Stripe stand-in): %[1]s/dev/stripe/links?workspace=%[3]s   pay one: curl -X POST %[1]s/dev/stripe/pay/<plink id>
API document: %[1]s/openapi.json   Press Ctrl-C to stop.
`, url, dynamoEndpoint, DemoWorkspace, DemoAdmin, DemoAgent, admin, agent, providersFile, "ws"+strings.TrimPrefix(url, "http"), machine, DemoClient)
	return err
}
