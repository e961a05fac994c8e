package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/edge/api"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
	"github.com/daifuku/daifuku/templates"
)

// formAnswers takes any answer, in memory.
type formAnswers struct{}

func (formAnswers) AnswerForm(context.Context, webhooks.FormAnswer) error { return nil }

func (formAnswers) Answer(context.Context, feedback.Postback) error { return nil }

// FuzzFeedbackForm: any submission gets a page of 200 or 400, never a panic or a 5xx.
func FuzzFeedbackForm(f *testing.F) {
	src, err := templates.FS.ReadFile("feedback.yaml")
	if err != nil {
		f.Fatal(err)
	}
	script, err := feedback.ParseScript("feedback.yaml", src)
	if err != nil {
		f.Fatal(err)
	}
	links := feedback.LinkSigner{Secret: []byte("s")}
	tok := links.Token("feedback|C1|x")
	f.Add("t=" + tok + "&r=5&comment=%E8%89%AF%E3%81%84&testimonial=yes")
	f.Add("t=" + tok + "&r=9")
	f.Add("t=nope&r=1")
	f.Add("%zz")
	h := api.New(validatingOrders{}, api.Options{Feedback: &api.FeedbackForm{Links: links, Answers: formAnswers{}, Script: script}})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/feedback", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
