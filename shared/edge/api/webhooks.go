package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// Acceptor stores webhook events and queues them for the webhook worker.
type Acceptor interface {
	Accept(ctx context.Context, src webhook.Source, events []json.RawMessage) (int, error)
}

// Webhooks configure the provider webhooks. An endpoint whose secret is not
// configured answers 503: an unverified webhook would let anyone write to the ledger.
type Webhooks struct {
	flow.Env // the clock that judges a signed request's age
	Inbox    Acceptor
	// LINESecret is the channel secret that signs LINE webhooks.
	LINESecret string
	// SendGrid verifies signed event webhooks; nil: not configured.
	SendGrid *sendgrid.EventVerifier
	// InboundToken is the secret path segment (or basic-auth password) of
	// the Inbound Parse URL.
	InboundToken string
}

// Body limits: LINE sends a few kilobytes; SendGrid batches events into
// requests of up to a few megabytes; Inbound Parse posts whole emails (up to
// 30 MB) but API Gateway stops at 10 MB anyway.
const (
	maxLINEBody    = 1 << 20
	maxEventsBody  = 8 << 20
	maxInboundBody = 10 << 20
)

func (h *Webhooks) routes(mux *http.ServeMux, log *slog.Logger) {
	mux.HandleFunc("POST /webhooks/line", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, maxLINEBody)
		if err != nil {
			writeError(w, err)
			return
		}
		if h.LINESecret == "" {
			writeError(w, &httpError{http.StatusServiceUnavailable, "LINE webhooks are not accepted: LINE_CHANNEL_SECRET is not configured"})
			return
		}
		evs, err := line.ParseWebhook(h.LINESecret, body, r.Header.Get("X-Line-Signature"))
		var malformed *line.MalformedError
		switch {
		case errors.Is(err, line.ErrInvalidSignature):
			writeError(w, &httpError{http.StatusUnauthorized, "missing or invalid X-Line-Signature"})
			return
		case errors.As(err, &malformed):
			writeError(w, &httpError{http.StatusBadRequest, malformed.Error()})
			return
		case err != nil:
			writeError(w, err)
			return
		}
		h.accept(w, r, log, webhook.LINE, evs)
	})
	mux.HandleFunc("POST /webhooks/sendgrid/events", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, maxEventsBody)
		if err != nil {
			writeError(w, err)
			return
		}
		if h.SendGrid == nil {
			writeError(w, &httpError{http.StatusServiceUnavailable, "SendGrid events are not accepted: SENDGRID_WEBHOOK_PUBLIC_KEY is not configured"})
			return
		}
		err = h.SendGrid.Verify(body, r.Header.Get(sendgrid.SignatureHeader), r.Header.Get(sendgrid.TimestampHeader), h.Now())
		switch {
		case errors.Is(err, sendgrid.ErrStale):
			writeError(w, &httpError{http.StatusUnauthorized, "signed timestamp is too old or in the future (a replay?)"})
			return
		case err != nil:
			writeError(w, &httpError{http.StatusUnauthorized, "missing or invalid " + sendgrid.SignatureHeader})
			return
		}
		evs, err := sendgrid.SplitEvents(body)
		if err != nil {
			writeError(w, &httpError{http.StatusBadRequest, err.Error()})
			return
		}
		h.accept(w, r, log, webhook.SendGrid, evs)
	})
	inbound := func(w http.ResponseWriter, r *http.Request) {
		if h.InboundToken == "" {
			writeError(w, &httpError{http.StatusServiceUnavailable, "email replies are not accepted: INBOUND_PARSE_TOKEN is not configured"})
			return
		}
		got := r.PathValue("token")
		if _, pass, ok := r.BasicAuth(); ok && got == "" {
			got = pass
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(h.InboundToken)) != 1 {
			writeError(w, &httpError{http.StatusUnauthorized, "missing or wrong inbound parse token"})
			return
		}
		body, err := readBody(w, r, maxInboundBody)
		if err != nil {
			writeError(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		m, err := sendgrid.ParseInbound(r)
		if err != nil {
			writeError(w, &httpError{http.StatusBadRequest, "malformed inbound parse request: want multipart/form-data with from, to and text"})
			return
		}
		raw, err := json.Marshal(m)
		if err != nil {
			writeError(w, err)
			return
		}
		h.accept(w, r, log, webhook.Inbound, []json.RawMessage{raw})
	}
	mux.HandleFunc("POST /webhooks/sendgrid/inbound/{token}", inbound)
	mux.HandleFunc("POST /webhooks/sendgrid/inbound", inbound)
}

// accept stores and queues verified events, then answers: 200 means they are
// safe; 500 makes the provider deliver them again.
func (h *Webhooks) accept(w http.ResponseWriter, r *http.Request, log *slog.Logger, src webhook.Source, evs []json.RawMessage) {
	n, err := h.Inbox.Accept(r.Context(), src, evs)
	var tooBig *webhooks.TooLargeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, &httpError{http.StatusRequestEntityTooLarge, tooBig.Error()})
	case err != nil:
		log.ErrorContext(r.Context(), "webhook not stored", "source", src, "events", len(evs), "error", err)
		writeError(w, &httpError{http.StatusInternalServerError, "could not store the events; deliver them again"})
	default:
		writeJSON(w, http.StatusOK, map[string]int{"events": len(evs), "batches": n})
	}
}

// readBody reads a whole body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &httpError{http.StatusRequestEntityTooLarge, "request body is too large"}
	case err != nil:
		return nil, &httpError{http.StatusBadRequest, "could not read the request body"}
	}
	return body, nil
}
