// Package api is daifuku's HTTP API as a plain net/http handler: API Gateway
// reaches it through aws-lambda-go-api-proxy, and `make serve` and the tests
// serve it directly.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

// Orders records orders.
type Orders interface {
	RecordOrder(ctx context.Context, o customer.Order) (orders.Result, error)
}

// maxBody bounds request bodies; an order is a few kilobytes.
const maxBody = 1 << 20

// Options configure the API.
type Options struct {
	flow.Env // the clock (signed webhooks' age) and the log
	// OrdersToken is the bearer token the shop's checkout sends with orders.
	// Without one, POST /orders refuses every request: an open endpoint would
	// let anyone write to the ledger and message customers.
	OrdersToken string
	// Unsubscribe checks the tokens of unsubscribe links; OptOuts records them.
	// Without OptOuts the endpoint is not served.
	Unsubscribe unsubscribe.Signer
	OptOuts     OptOuts
	// Preferences serves the preference page (配信設定) and lets one-click
	// links stop a topic; nil: not served.
	Preferences Preferences
	// Webhooks serves /webhooks/…; nil: not served.
	Webhooks *Webhooks
	// Feedback serves the page of an email's rating links; nil: not served.
	Feedback *FeedbackForm
	// RSVP serves the page of an event email's 参加 / 不参加 link; nil: not served.
	RSVP *RSVPPage
	// Voice serves GET /voice (customer voice, with the orders token); nil: not served.
	Voice    VoiceSource
	ShopName string
	// Timeline serves GET /customers/{id}/timeline (with the orders token); nil: not served.
	Timeline Timelines
	// Studio serves /studio, the marketers' page and API; nil: not served.
	Studio *Studio
}

// New returns the API handler.
func New(recorder Orders, o Options) http.Handler {
	log := o.Logger()
	mux := http.NewServeMux()
	mux.Handle("POST /orders", requireToken(o.OrdersToken, "orders", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o customer.Order
		if err := decode(w, r, &o); err != nil {
			writeError(w, err)
			return
		}
		res, err := recorder.RecordOrder(r.Context(), o)
		var invalid *domain.InvalidError
		switch {
		case errors.As(err, &invalid):
			writeError(w, &httpError{http.StatusBadRequest, invalid.Error()})
		case err != nil:
			log.ErrorContext(r.Context(), "record order failed", "order_id", o.ID, "error", err)
			writeError(w, &httpError{http.StatusInternalServerError, "could not record the order; retry with the same order_id"})
		case res.Duplicate:
			writeJSON(w, http.StatusOK, res)
		default:
			writeJSON(w, http.StatusCreated, res)
		}
	})))
	if o.OptOuts != nil {
		unsubscribeRoutes(mux, o.Unsubscribe, o.OptOuts, o)
	}
	if o.Preferences != nil {
		preferencesRoutes(mux, o.Unsubscribe, o.Preferences, o)
	}
	if o.Webhooks != nil {
		o.Webhooks.routes(mux, log)
	}
	if o.Feedback != nil {
		o.Feedback.routes(mux, o)
	}
	if o.RSVP != nil {
		o.RSVP.routes(mux, o)
	}
	if o.Voice != nil {
		mux.Handle("GET /voice", requireToken(o.OrdersToken, "customer voice", voiceHandler(o.Voice, o)))
	}
	if o.Timeline != nil {
		mux.Handle("GET /customers/{id}/timeline", requireToken(o.OrdersToken, "customer timelines", timelineHandler(o.Timeline, o)))
	}
	if o.Studio != nil {
		o.Studio.routes(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return router{mux}
}

// router answers what the mux does not route in JSON: 405 with Allow when
// the path exists for other methods, 404 otherwise. (A catch-all "/" pattern
// would hide the mux's own 405 behind a 404.)
type router struct{ mux *http.ServeMux }

var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

func (rt router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.mux.Handler(r); pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range methods {
		other := *r
		other.Method = m
		if _, pattern := rt.mux.Handler(&other); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &httpError{http.StatusMethodNotAllowed, r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, " or ")})
		return
	}
	writeError(w, &httpError{http.StatusNotFound, "no such endpoint: " + r.Method + " " + r.URL.Path})
}

// requireToken lets through requests carrying "Authorization: Bearer <token>".
func requireToken(token, what string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case token == "":
			writeError(w, &httpError{http.StatusServiceUnavailable, what + " not served: ORDERS_API_TOKEN is not configured"})
		case !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="daifuku"`)
			writeError(w, &httpError{http.StatusUnauthorized, "missing or wrong bearer token"})
		default:
			next.ServeHTTP(w, r)
		}
	})
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// decode reads a JSON body strictly: unknown fields are mistakes worth reporting.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB"}
		}
		return &httpError{http.StatusBadRequest, "malformed JSON: " + err.Error()}
	}
	if dec.More() {
		return &httpError{http.StatusBadRequest, "malformed JSON: more than one value in the body"}
	}
	return nil
}

func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{http.StatusInternalServerError, "internal error"}
	}
	writeJSON(w, he.status, map[string]string{"error": he.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
