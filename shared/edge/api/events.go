package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/daifuku/daifuku/shared/domain/event"
	msgrender "github.com/daifuku/daifuku/shared/domain/render"
)

// EventAnswers records answers from an event email's RSVP page.
type EventAnswers interface {
	AnswerLink(ctx context.Context, eventID, customerID string, a event.Answer) (event.Outcome, error)
}

// EventFinder finds the event a link names, to show it.
type EventFinder interface {
	Find(ctx context.Context, id string) (event.Event, error)
}

// RSVPPage serves the page of an event email's 参加 / 不参加 link.
type RSVPPage struct {
	Links   event.LinkSigner
	Answers EventAnswers
	Events  EventFinder
}

var rsvpPage = template.Must(template.New("").Parse(`<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.8;color:#333">
<h1 style="font-size:1.3em">{{.Title}}</h1>
{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Event}}<p><strong>{{.Event}}</strong><br>{{.When}}{{if .Place}}<br>{{.Place}}{{end}}</p>{{end}}
{{if .Form}}<form method="post" action="/events/rsvp" style="display:inline">
<input type="hidden" name="t" value="{{.Token}}"><input type="hidden" name="a" value="yes">
<button type="submit" style="font-size:1em;padding:.6em 1.4em;margin-right:1em">参加する</button></form>
<form method="post" action="/events/rsvp" style="display:inline">
<input type="hidden" name="t" value="{{.Token}}"><input type="hidden" name="a" value="no">
<button type="submit" style="font-size:1em;padding:.6em 1.4em">不参加</button></form>
<p style="font-size:.9em;color:#777">お返事は、開始時刻まで何度でも変えられます。</p>{{end}}
</body></html>`))

type rsvpData struct {
	Title, Text, Token string
	Event, When, Place string
	Form               bool
}

func showRSVP(w http.ResponseWriter, status int, d rsvpData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = rsvpPage.Execute(w, d)
}

var (
	badRSVPLink = rsvpData{Title: "リンクが正しくありません", Text: "お手数ですが、届いたメールのリンクをもう一度お試しいただくか、お問い合わせください。"}
	rsvpClosed  = rsvpData{Title: "受付は終了しました", Text: event.ReplyStarted}
)

// routes serve the RSVP link. GET (and so HEAD) only shows the event and
// the two buttons: link scanners and mail gateways fetch every link in a
// mail, so GET and HEAD change nothing. Only the page's POST answers.
func (p *RSVPPage) routes(mux *http.ServeMux, o Options) {
	mux.HandleFunc("GET /events/rsvp", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		id, _, err := p.Links.Check(tok)
		if err != nil {
			showRSVP(w, http.StatusBadRequest, badRSVPLink)
			return
		}
		e, err := p.Events.Find(r.Context(), id)
		if err != nil {
			showRSVP(w, http.StatusBadRequest, badRSVPLink)
			return
		}
		if !o.Now().Before(e.StartsAt()) {
			showRSVP(w, http.StatusBadRequest, rsvpClosed)
			return
		}
		showRSVP(w, http.StatusOK, rsvpData{Title: "ご参加のお返事", Text: "下のボタンからお返事をお聞かせください。", Token: tok, Form: true,
			Event: e.Title, When: msgrender.EventTime(e.StartsAt(), e.Location()), Place: e.Place})
	})
	mux.HandleFunc("POST /events/rsvp", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			showRSVP(w, http.StatusBadRequest, rsvpData{Title: "送信できませんでした", Text: "形式が正しくありません。"})
			return
		}
		id, customerID, err := p.Links.Check(r.PostForm.Get("t"))
		if err != nil {
			showRSVP(w, http.StatusBadRequest, badRSVPLink)
			return
		}
		a, err := event.ParseAnswer(r.PostForm.Get("a"))
		if err != nil {
			showRSVP(w, http.StatusBadRequest, rsvpData{Title: "送信できませんでした", Text: "「参加する」か「不参加」をお選びください。"})
			return
		}
		out, err := p.Answers.AnswerLink(r.Context(), id, customerID, a)
		switch {
		case errors.Is(err, event.ErrNotInvited):
			showRSVP(w, http.StatusForbidden, rsvpData{Title: "お返事を承れませんでした", Text: event.ReplyNotInvited})
		case errors.Is(err, event.ErrStarted):
			showRSVP(w, http.StatusBadRequest, rsvpClosed)
		case err != nil:
			o.Logger().ErrorContext(r.Context(), "event answer not saved", "event", id, "customer_id", customerID, "error", err)
			showRSVP(w, http.StatusInternalServerError, rsvpData{Title: "ただいま受け付けられませんでした",
				Text: "恐れ入りますが、少し時間をおいてもう一度お試しください。"})
		default:
			title := map[event.Status]string{event.Attending: "ご参加を承りました", event.Waiting: "キャンセル待ちで承りました",
				event.Declined: "不参加で承りました"}[out.Status]
			showRSVP(w, http.StatusOK, rsvpData{Title: title, Text: event.Reply(out)})
		}
	})
}
