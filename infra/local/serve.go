package local

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// The local API's secrets, the same env.json gives `sam local`. Real values
// come from Secrets Manager in AWS; the environment overrides these here.
var localSecrets = map[string]string{
	// line-bot-sdk-go's own test secret (../shared/fixtures/line-secret.txt).
	"LINE_CHANNEL_SECRET": "testsecret",
	// Verifies events/api-webhook-sendgrid-events.json, signed once with a
	// throwaway key; recorded requests replay, so the age check is off.
	"SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVwXshCee3r1uhwrO2urUyY7dONBJBqWMN0avWwLWE0ExdN/pCnpDRs89b7dbvptPwbUSIoPtzcw/Lqi1n6lCMA==",
	"SENDGRID_WEBHOOK_MAX_AGE":    "0",
	"INBOUND_PARSE_TOKEN":         "local-inbound-token",
	"ORDERS_API_TOKEN":            "local-orders-token",
	// Opens the studio locally (make serve prints its URL); in AWS, Cognito does.
	"STUDIO_DEV_TOKEN": DefaultStudioToken,
	// Where the studio's test sends go: the capture server takes both.
	"STUDIO_TEST_RECIPIENTS": "email:studio-test@example.jp,line:U00000000000000000000000000000001",
}

// DefaultStudioToken is the local studio's token unless STUDIO_DEV_TOKEN says another.
const DefaultStudioToken = "local-studio-token"

// StudioURL is the local studio's address, with the token that opens it.
func StudioURL(base string) string {
	return base + "/studio?token=" + url.QueryEscape(LocalEnv("STUDIO_DEV_TOKEN"))
}

// LocalEnv reads a variable, falling back to the local secrets.
func LocalEnv(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return localSecrets[key]
}

// Timeouts bound the local API server's connections.
type Timeouts struct{ ReadHeader, Read, Write, Idle time.Duration }

// DefaultTimeouts are API Gateway's: 30 seconds for a request, whole; an
// idle keep-alive connection is closed after a minute.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: time.Minute}

// Serve answers the HTTP API on addr until ctx ends, and meanwhile works the
// queues as the webhook and sender functions would: webhook events reach the
// ledger, and the messages they cause are sent, within a moment.
func (e *Env) Serve(ctx context.Context, addr string, ready func(url string)) error {
	h, err := e.handler()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	t := e.Timeouts
	if t == (Timeouts{}) {
		t = DefaultTimeouts
	}
	// Bounded at every step: a client that sends its body a byte a second, or
	// keeps an idle connection, must not hold the server.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go e.work(ctx)
	if ready != nil {
		ready("http://" + l.Addr().String())
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweepEvery is how often a serving process sweeps stranded messages back
// onto its queue, as the hourly run does in AWS.
const sweepEvery = 5 * time.Minute

// handler is the API on the App, or on the published content when it follows the studio.
func (e *Env) handler() (http.Handler, error) {
	if e.Live != nil {
		return e.Live.APIHandler(LocalEnv)
	}
	return e.APIHandler(LocalEnv)
}

// work drains the in-process queues every 100 ms, and sweeps now and then.
func (e *Env) work(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if _, err := e.current(ctx).Reconciler.Sweep(ctx, e.Now()); err != nil && ctx.Err() == nil {
				e.log.ErrorContext(ctx, "local sweep", "error", err)
			}
			continue
		case <-t.C:
		}
		if e.Queue.Len() > 0 || e.Queue.Batches.Len() > 0 {
			if err := e.SendQueued(ctx); err != nil && ctx.Err() == nil {
				e.log.ErrorContext(ctx, "local queues", "error", err)
			}
		}
	}
}
