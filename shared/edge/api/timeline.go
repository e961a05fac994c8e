package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/timeline"
)

// Timelines gives one customer's history.
type Timelines interface {
	Timeline(ctx context.Context, customerID string) (*timeline.Timeline, error)
}

// timelineHandler serves GET /customers/{id}/timeline: the history staff read
// before they answer a customer. It carries personal data, so it is served
// behind the orders token, with no-store.
func timelineHandler(src Timelines, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := customer.ValidID("customer id", id); err != nil {
			writeError(w, &httpError{http.StatusBadRequest, err.Error()})
			return
		}
		t, err := src.Timeline(r.Context(), id)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			writeError(w, &httpError{http.StatusNotFound, "no customer " + id})
			return
		case err != nil:
			o.Logger().ErrorContext(r.Context(), "timeline failed", "customer_id", id, "error", err)
			writeError(w, &httpError{http.StatusInternalServerError, "could not read the timeline"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, t)
	})
}
