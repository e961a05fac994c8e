package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/edge/api"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

// validatingOrders answers as the order flow does before it touches the
// ledger, so the fuzzer exercises the HTTP decoding, not DynamoDB.
type validatingOrders struct{}

func (validatingOrders) RecordOrder(_ context.Context, o customer.Order) (orders.Result, error) {
	if err := o.Validate(); err != nil {
		return orders.Result{}, err
	}
	return orders.Result{OrderID: o.ID}, nil
}

// FuzzPostOrder: any body gets a JSON answer of 201, 400 or 413, never a panic or a 5xx.
func FuzzPostOrder(f *testing.F) {
	f.Add([]byte(`{"order_id":"O1","customer_id":"C1","total":3800,"ordered_at":"2026-11-23T10:00:00+09:00","items":[{"name":"マグ","quantity":1,"price":3800}]}`))
	f.Add([]byte(`{"order_id":"O1"}`))
	f.Add([]byte(`[]`))
	h := api.New(validatingOrders{}, api.Options{OrdersToken: token})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, post(body))
		switch w.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if !bytes.HasPrefix(w.Body.Bytes(), []byte("{")) {
			t.Fatalf("not a JSON answer: %s", w.Body)
		}
	})
}
