package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/orders"
	"github.com/daifuku/daifuku/shared/flows/publishing"
	"github.com/daifuku/daifuku/templates"
)

// DefaultCheckEvery is how often a process looks for a new publish: a
// publish reaches every function within it, at the cost of one small read.
const DefaultCheckEvery = 30 * time.Second

// Live keeps an App on the published content. It reads the published
// revision (one item) at most once per Every, and rebuilds the App only when
// a new revision was published; never per message.
type Live struct {
	deps  Deps
	store *dynamo.Store
	// Every is how often the revision is read; 0: DefaultCheckEvery.
	Every time.Duration

	mu      sync.Mutex
	app     *App
	rev     int
	checked time.Time
}

// Embedded is the content compiled into the binary, the seed of the table.
func Embedded() (contentset.Set, error) { return contentset.FromFS(templates.FS) }

// Seed fills an empty content table from templates/ (first start). It says
// whether it did.
func Seed(ctx context.Context, st *dynamo.Store, by string, at time.Time) (bool, error) {
	set, err := Embedded()
	if err != nil {
		return false, err
	}
	return st.Seed(ctx, set, by, at)
}

// Published loads the published content and its revision. Before the first
// publish (revision 0) it is the embedded content.
func Published(ctx context.Context, st *dynamo.Store) (*content.Content, contentset.Revision, error) {
	rev, err := st.Published(ctx)
	if err != nil {
		return nil, rev, err
	}
	if rev.N == 0 {
		c, err := content.LoadContent(templates.FS)
		return c, rev, err
	}
	set, err := st.Files(ctx, rev.Files)
	if err != nil {
		return nil, rev, err
	}
	c, err := content.LoadContent(set.FS())
	if err != nil {
		return nil, rev, fmt.Errorf("published revision %d: %w", rev.N, err)
	}
	return c, rev, nil
}

// NewLive builds the App on the published content. When that cannot be
// loaded (the table unreadable, or a revision this build's checks refuse),
// it starts on the embedded content, says so, and tries again at the next
// look: a function that cannot start sends nothing at all.
func NewLive(ctx context.Context, d Deps) (*Live, error) {
	l := &Live{deps: d, store: dynamo.New(d.DB, d.Tables)}
	c, rev, err := Published(ctx, l.store)
	if err != nil {
		log := d.Log
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(ctx, "published content not loaded; starting on the embedded templates", "revision", rev.N, "error", err)
		if c, err = content.LoadContent(templates.FS); err != nil {
			return nil, err
		}
		l.build(c, contentset.Revision{})
		l.rev = -1 // not the published one: load it at the next look
		return l, nil
	}
	l.build(c, rev)
	return l, nil
}

func (l *Live) build(c *content.Content, rev contentset.Revision) {
	d := l.deps
	d.Content, d.ContentRevision, d.ContentFiles = c, rev.N, rev.Files
	l.app, l.rev = New(d), rev.N
	l.checked = l.app.Now()
}

// App is the App on the content published at most Every ago. A failed
// read or an unloadable revision keeps the App it has, and says so.
func (l *Live) App(ctx context.Context) *App {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.app.Now()
	every := l.Every
	if every <= 0 {
		every = DefaultCheckEvery
	}
	if now.Sub(l.checked) < every {
		return l.app
	}
	l.checked = now
	rev, err := l.store.Published(ctx)
	if err != nil || rev.N == l.rev {
		if err != nil {
			l.app.Logger().WarnContext(ctx, "content revision not read; keeping the loaded one", "revision", l.rev, "error", err)
		}
		return l.app
	}
	c, loaded, err := Published(ctx, l.store)
	if err != nil {
		l.app.Logger().ErrorContext(ctx, "published content not loaded; keeping the loaded one", "revision", l.rev, "error", err)
		return l.app
	}
	l.build(c, loaded)
	l.app.Logger().InfoContext(ctx, "content reloaded", "revision", loaded.N)
	return l.app
}

// Handler serves HTTP with the handler build makes on the current App,
// built again when the App changes.
func (l *Live) Handler(build func(*App) (http.Handler, error)) (http.Handler, error) {
	var (
		mu  sync.Mutex
		on  *App
		cur http.Handler
	)
	get := func(a *App) (http.Handler, error) {
		mu.Lock()
		defer mu.Unlock()
		if a != on {
			h, err := build(a)
			if err != nil {
				return nil, err
			}
			on, cur = a, h
		}
		return cur, nil
	}
	if _, err := get(l.App(context.Background())); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := l.App(r.Context())
		h, err := get(a)
		if err != nil {
			a.Logger().ErrorContext(r.Context(), "handler not rebuilt", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// SendJobs is the sender's SQS handler, on the current App.
func (l *Live) SendJobs() handler.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handler.SendJobs(l.App(ctx).Sender)(ctx, ev)
	}
}

// DecideShards is the fan-out function's SQS handler, on the current App.
func (l *Live) DecideShards() handler.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handler.DecideShards(l.App(ctx).Campaigns)(ctx, ev)
	}
}

// ApplyWebhooks is the webhook worker's SQS handler, on the current App.
func (l *Live) ApplyWebhooks() handler.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handler.ApplyWebhooks(l.App(ctx).Webhooks)(ctx, ev)
	}
}

// OrderPlaced is the EventBridge order handler, on the current App.
func (l *Live) OrderPlaced() func(context.Context, events.EventBridgeEvent) (orders.Result, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (orders.Result, error) {
		return handler.OrderPlaced(l.App(ctx).Intake)(ctx, ev)
	}
}

// Tasks answers the scheduler, on the current App.
func (l *Live) Tasks(ctx context.Context, raw json.RawMessage) (string, error) {
	return l.App(ctx).Tasks().Handle(ctx, raw)
}

// APIHandler is the HTTP API, rebuilt on a new publish.
func (l *Live) APIHandler(getenv func(string) string) (http.Handler, error) {
	return l.Handler(func(a *App) (http.Handler, error) { return a.APIHandler(getenv) })
}

// ContentDesk is the publishing desk on a deployed content table alone
// (CONTENT_TABLE, with the caller's AWS credentials): content export and
// import against AWS.
func ContentDesk(ctx context.Context, table string) (*publishing.Desk, error) {
	db, err := DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	st := dynamo.New(db, dynamo.Tables{Content: table})
	return &publishing.Desk{Ledger: st, Checks: content.Checks{}}, nil
}
