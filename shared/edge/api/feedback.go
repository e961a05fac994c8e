package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// Answers records what customers send from the feedback form.
type Answers interface {
	AnswerForm(ctx context.Context, a webhooks.FormAnswer) error
	// Answer records an answer to a message's one-tap question.
	Answer(ctx context.Context, a feedback.Postback) error
}

// FeedbackForm serves the page an email's rating links open.
type FeedbackForm struct {
	Links   feedback.LinkSigner
	Answers Answers
	Script  *feedback.Script
}

// maxComment bounds a comment; a testimonial is a few sentences.
const maxComment = 2000

var formPage = template.Must(template.New("").Parse(`<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.8;color:#333">
<h1 style="font-size:1.3em">{{.Title}}</h1>
{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Choice}}<form method="post" action="/feedback/answer">
<input type="hidden" name="t" value="{{.Token}}">
<p>「{{.Choice}}」とお答えします。よろしければ、下のボタンを押してください。</p>
<button type="submit" style="font-size:1em;padding:.6em 1.4em">この回答を送る</button>
</form>{{end}}
{{if .Form}}<form method="post" action="/feedback">
<input type="hidden" name="t" value="{{.Token}}">
<fieldset style="border:0;padding:0"><legend>今回のお買い物の満足度（5がいちばん満足です）</legend>
{{range .Ratings}}<label style="display:block"><input type="radio" name="r" value="{{.Value}}"{{if .Checked}} checked{{end}} required> <span style="color:#c9a227">{{.Stars}}</span> {{.Label}}</label>
{{end}}</fieldset>
<p><label for="c">ご感想（任意）</label><br>
<textarea id="c" name="comment" rows="5" maxlength="2000" style="width:100%;font-size:1em"></textarea></p>
<p><label><input type="checkbox" name="testimonial" value="yes"> お名前を伏せて（例：「30代・女性・リピーター」）ショップのページやチラシで紹介してもよい</label></p>
<button type="submit" style="font-size:1em;padding:.6em 1.4em">送信する</button>
</form>{{end}}
</body></html>`))

type formRating struct {
	Value        int
	Stars, Label string
	Checked      bool
}

type formData struct {
	Title, Text, Token string
	Form               bool
	// Choice is the answer a question's link gives, to confirm.
	Choice  string
	Ratings []formRating
}

func showForm(w http.ResponseWriter, status int, d formData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = formPage.Execute(w, d)
}

var badLink = formData{Title: "リンクが正しくありません", Text: "お手数ですが、届いたメールのリンクをもう一度お試しください。"}

func (f *FeedbackForm) routes(mux *http.ServeMux, o Options) {
	// GET only shows the form (mail scanners open links): nothing is recorded.
	mux.HandleFunc("GET /feedback", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		if _, err := f.Links.Check(tok); err != nil {
			showForm(w, http.StatusBadRequest, badLink)
			return
		}
		chosen, _ := strconv.Atoi(r.URL.Query().Get("r"))
		d := formData{Title: "ご感想をお聞かせください", Token: tok, Form: true}
		for n := 5; n >= 1; n-- {
			d.Ratings = append(d.Ratings, formRating{Value: n, Stars: feedback.Stars(n), Label: f.Script.RatingLabels[n-1], Checked: n == chosen})
		}
		showForm(w, http.StatusOK, d)
	})
	mux.HandleFunc("POST /feedback", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			showForm(w, http.StatusBadRequest, formData{Title: "送信できませんでした", Text: "入力が長すぎるか、形式が正しくありません。"})
			return
		}
		key, err := f.Links.Check(r.PostForm.Get("t"))
		if err != nil {
			showForm(w, http.StatusBadRequest, badLink)
			return
		}
		rating, err := strconv.Atoi(r.PostForm.Get("r"))
		comment := strings.TrimSpace(r.PostForm.Get("comment"))
		if err != nil || rating < 1 || rating > 5 || !utf8.ValidString(comment) || utf8.RuneCountInString(comment) > maxComment {
			showForm(w, http.StatusBadRequest, formData{Title: "送信できませんでした", Text: "満足度を1〜5から選び、ご感想は2000文字以内でお書きください。"})
			return
		}
		err = f.Answers.AnswerForm(r.Context(), webhooks.FormAnswer{Message: key, Rating: rating, Comment: comment,
			Publish: r.PostForm.Get("testimonial") == "yes"})
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, domain.ErrNotFound) {
				status = http.StatusNotFound
			}
			o.Logger().ErrorContext(r.Context(), "feedback form not saved", "message_key", key, "error", err)
			showForm(w, status, formData{Title: "ただいま受け付けられませんでした", Text: "恐れ入りますが、少し時間をおいてもう一度お試しください。"})
			return
		}
		showForm(w, http.StatusOK, formData{Title: "ありがとうございました", Text: "いただいたお声は、スタッフ一同で大切に拝見します。"})
	})
	// A question's answer links: GET asks to confirm, only POST records.
	mux.HandleFunc("GET /feedback/answer", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		q, choice, ok := f.answer(tok)
		if !ok {
			showForm(w, http.StatusBadRequest, badLink)
			return
		}
		showForm(w, http.StatusOK, formData{Title: "ご回答の確認", Text: q.Ask, Token: tok, Choice: choice.Label})
	})
	mux.HandleFunc("POST /feedback/answer", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			showForm(w, http.StatusBadRequest, badLink)
			return
		}
		q, _, ok := f.answer(r.PostForm.Get("t"))
		if !ok {
			showForm(w, http.StatusBadRequest, badLink)
			return
		}
		a, _ := f.Links.CheckAnswer(r.PostForm.Get("t"))
		if err := f.Answers.Answer(r.Context(), a); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, domain.ErrNotFound) {
				status = http.StatusNotFound
			}
			o.Logger().ErrorContext(r.Context(), "answer not saved", "message_key", a.Message, "question", a.Question, "error", err)
			showForm(w, status, formData{Title: "ただいま受け付けられませんでした", Text: "恐れ入りますが、少し時間をおいてもう一度お試しください。"})
			return
		}
		showForm(w, http.StatusOK, formData{Title: "ありがとうございました", Text: q.Thanks})
	})
}

// answer reads an answer link's token: the question and the choice it
// gives, if the token is ours and feedback.yaml still has both.
func (f *FeedbackForm) answer(tok string) (feedback.Question, feedback.Choice, bool) {
	a, err := f.Links.CheckAnswer(tok)
	if err != nil || f.Script == nil {
		return feedback.Question{}, feedback.Choice{}, false
	}
	q, ok := f.Script.Questions[a.Question]
	choice, chosen := q.Choice(a.Value)
	return q, choice, ok && chosen
}
