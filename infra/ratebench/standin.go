package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// standIn answers like LINE's push and SendGrid's mail send, each behind
// its own limit: above it, 429, as the real ones answer. It counts what it
// took, what it refused, and what it took twice (a LINE retry key, an
// email's message key).
type standIn struct {
	mu        sync.Mutex
	providers map[string]*provider
}

type provider struct {
	limit    *rate.Limiter
	accepted []time.Time
	refused  int
	seen     map[string]bool
	dupes    int
}

func newStandIn(perSecond float64) *standIn {
	s := &standIn{providers: map[string]*provider{}}
	for _, name := range []string{"line", "email"} {
		// A second's worth at once, as a provider's per-second limit allows.
		s.providers[name] = &provider{limit: rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond))), seen: map[string]bool{}}
	}
	return s
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var name, key string
	switch r.URL.Path {
	case "/v2/bot/message/push":
		name, key = "line", r.Header.Get("X-Line-Retry-Key")
	case "/v3/mail/send":
		var m struct {
			Personalizations []struct {
				CustomArgs map[string]string `json:"custom_args"`
			} `json:"personalizations"`
			CustomArgs map[string]string `json:"custom_args"`
		}
		_ = json.Unmarshal(body, &m)
		name, key = "email", m.CustomArgs["message_key"]
		for _, p := range m.Personalizations {
			if k := p.CustomArgs["message_key"]; k != "" {
				key = k
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	p := s.providers[name]
	now := time.Now()
	s.mu.Lock()
	if !p.limit.AllowN(now, 1) {
		p.refused++
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		if name == "line" {
			_, _ = w.Write([]byte(`{"message":"The API rate limit has been exceeded. Try again later."}`))
		} else {
			_, _ = w.Write([]byte(`{"errors":[{"message":"too many requests"}]}`))
		}
		return
	}
	p.accepted = append(p.accepted, now)
	if key != "" && p.seen[key] {
		p.dupes++
	}
	p.seen[key] = true
	s.mu.Unlock()
	if name == "line" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Line-Request-Id", "bench")
		_, _ = w.Write([]byte(`{"sentMessages":[{"id":"1","quoteToken":"q"}]}`))
		return
	}
	w.Header().Set("X-Message-Id", "bench")
	w.WriteHeader(http.StatusAccepted)
}

// stats are what a provider saw over a run.
type stats struct {
	accepted, refused, dupes int
	// steady is the accepted rate while every sender had work (from the
	// 5th to the 95th percentile of acceptances: the ramp and the drain,
	// when the last batches finish on a few senders, left out); whole is
	// the rate from the first acceptance to the last.
	steady, whole float64
}

func (s *standIn) stats(name string) stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.providers[name]
	st := stats{accepted: len(p.accepted), refused: p.refused, dupes: p.dupes}
	rate := func(from, to int) float64 {
		if to <= from {
			return 0
		}
		return float64(to-from) / p.accepted[to].Sub(p.accepted[from]).Seconds()
	}
	if n := len(p.accepted); n > 1 {
		st.whole, st.steady = rate(0, n-1), rate(n/20, n-1-n/20)
	}
	return st
}
