package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/daifuku/daifuku/shared/domain/feedback"
)

// VoiceSource lists testimonials customers agreed to publish.
type VoiceSource interface {
	Testimonials(ctx context.Context, limit int) ([]feedback.Testimonial, error)
}

// voiceHandler serves GET /voice?format=json|markdown|csv&limit=N: customer
// voice for the shop's page or flyer, newest first, without names.
func voiceHandler(src VoiceSource, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 0
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				writeError(w, &httpError{http.StatusBadRequest, "limit must be a whole number ≥ 0"})
				return
			}
			limit = n
		}
		format := q.Get("format")
		switch format {
		case "", "json", "markdown", "csv":
		default:
			writeError(w, &httpError{http.StatusBadRequest, "format must be json, markdown or csv"})
			return
		}
		ts, err := src.Testimonials(r.Context(), limit)
		if err != nil {
			o.Logger().ErrorContext(r.Context(), "customer voice failed", "error", err)
			writeError(w, &httpError{http.StatusInternalServerError, "could not read customer voice"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch format {
		case "markdown":
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			_ = feedback.WriteMarkdown(w, o.ShopName, ts)
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="customer-voice.csv"`)
			_ = feedback.WriteCSV(w, ts)
		default:
			writeJSON(w, http.StatusOK, map[string]any{"testimonials": ts})
		}
	})
}
