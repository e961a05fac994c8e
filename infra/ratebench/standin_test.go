package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

// The stand-in is the bench's judge: it refuses above its limit, as LINE
// and SendGrid do, and counts a message taken twice.
func TestTheStandInRefusesAboveItsLimitAndCountsDuplicates(t *testing.T) {
	s := newStandIn(1) // one a second, one at once: a second request at once is refused
	srv := httptest.NewServer(s)
	defer srv.Close()
	push := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/bot/message/push", strings.NewReader(`{}`))
		req.Header.Set("X-Line-Retry-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if a, b := push("k1"), push("k2"); a != http.StatusOK || b != http.StatusTooManyRequests {
		t.Errorf("two pushes at once: %d, %d; want 200, 429", a, b)
	}
	s.providers["line"].limit.SetLimit(rate.Inf) // no limit now: the same key taken twice is counted
	if push("k1") != http.StatusOK {
		t.Fatal("refused with room")
	}
	if st := s.stats("line"); st.accepted != 2 || st.refused != 1 || st.dupes != 1 {
		t.Errorf("stats %+v", st)
	}
}
