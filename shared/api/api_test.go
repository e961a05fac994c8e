package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/api"
	"github.com/daifuku/daifuku/shared/customer"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func TestBadOrdersGetClearErrorsAndChangeNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	h := api.New(r.Intake, nil)
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
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(tt.body)))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s, want %d with %q", w.Code, w.Body, tt.status, tt.msg)
			}
		})
	}
	if _, err := r.Store.Customer(context.Background(), "C1"); err == nil {
		t.Error("a rejected order created a customer")
	} else if !strings.Contains(err.Error(), customer.ErrNotFound.Error()) {
		t.Error(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if w.Code != 404 {
		t.Errorf("unknown path: %d", w.Code)
	}
}
