package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/edge/api"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

const token = "s3cret-orders-token"

func post(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func TestOrdersNeedTheShopsToken(t *testing.T) {
	body := []byte(`{"order_id":"O1","customer_id":"C1","total":1,"ordered_at":"2026-11-23T00:00:00Z"}`)
	tests := []struct {
		name, configured, header string
		status                   int
	}{
		{"no header", token, "", http.StatusUnauthorized},
		{"wrong token", token, "Bearer nope", http.StatusUnauthorized},
		{"basic auth", token, "Basic " + token, http.StatusUnauthorized},
		{"no token configured", "", "Bearer ", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			h := api.New(countingOrders{&calls}, api.Options{OrdersToken: tt.configured})
			r := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || calls != 0 {
				t.Errorf("status %d (%s), %d orders recorded; want %d and none", w.Code, w.Body, calls, tt.status)
			}
		})
	}
}

type countingOrders struct{ n *int }

func (c countingOrders) RecordOrder(context.Context, customer.Order) (orders.Result, error) {
	*c.n++
	return orders.Result{}, nil
}

func TestBadOrdersGetClearErrorsAndChangeNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	h := api.New(r.Intake, api.Options{OrdersToken: token})
	tests := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"malformed JSON", `{"order_id":`, 400, "malformed JSON"},
		{"unknown field", `{"order_id":"O1","customer_id":"C1","total":1,"ordered_at":"2026-11-23T00:00:00Z","colour":"red"}`, 400, "unknown field"},
		{"missing customer", `{"order_id":"O1","total":1,"ordered_at":"2026-11-23T00:00:00Z"}`, 400, "customer_id is required"},
		{"oversized", `{"order_id":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, post([]byte(tt.body)))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s, want %d with %q", w.Code, w.Body, tt.status, tt.msg)
			}
		})
	}
	if _, err := r.Store.Customer(context.Background(), "C1"); err == nil {
		t.Error("a rejected order created a customer")
	} else if !strings.Contains(err.Error(), domain.ErrNotFound.Error()) {
		t.Error(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if w.Code != 404 {
		t.Errorf("unknown path: %d", w.Code)
	}
}

// A path served for other methods answers 405 with Allow; an unknown path 404.
// Both in JSON, like every other error.
func TestWrongMethodsGet405WithAllow(t *testing.T) {
	h := api.New(countingOrders{new(int)}, api.Options{OrdersToken: token})
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/orders", http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/orders", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodGet, "/nothing-here", http.StatusNotFound, ""},
		{http.MethodHead, "/healthz", http.StatusOK, ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.status || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", tt.method, tt.path, w.Code, w.Header().Get("Allow"), tt.status, tt.allow)
		}
		if tt.status >= 400 && (!strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || !strings.Contains(w.Body.String(), `"error"`)) {
			t.Errorf("%s %s: body %q is not a JSON error", tt.method, tt.path, w.Body)
		}
	}
}

// GET /customers/{id}/timeline: behind the orders token; JSON; 404 for an
// unknown customer, 400 for an id that cannot be one.
func TestCustomerTimelineEndpoint(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	ctx := context.Background()
	if _, err := k.Intake.RecordOrder(ctx, customer.Order{ID: "O1", CustomerID: "C1", Total: 3800, OrderedAt: k.Clock.Now(),
		Contact: customer.Contact{Email: "hanako@example.jp"}}); err != nil {
		t.Fatal(err)
	}
	k.SendQueued(t)
	get := func(path, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		k.h.ServeHTTP(w, req)
		return w
	}
	if w := get("/customers/C1/timeline", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
	w := get("/customers/C1/timeline", token)
	var tl struct {
		CustomerID string `json:"customer_id"`
		Entries    []struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tl); err != nil || w.Code != 200 || tl.CustomerID != "C1" || len(tl.Entries) != 5 { // rank, the order form's consent, thank-you, order, points
		t.Fatalf("timeline: %d %s (%v)", w.Code, w.Body, err)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("a timeline carries personal data: it must not be cached")
	}
	if w := get("/customers/C404/timeline", token); w.Code != http.StatusNotFound {
		t.Errorf("unknown customer: %d", w.Code)
	}
	if w := get("/customers/C1%7Cx/timeline", token); w.Code != http.StatusBadRequest {
		t.Errorf("an id with |: %d", w.Code)
	}
}
