package call

import (
	"context"
	"time"

	"github.com/voipkit/voipkit/sip"
)

// runSessionTimer keeps the session alive (RFC 4028): as the refresher it
// re-INVITEs or UPDATEs at half the interval; otherwise it hangs up when
// no refresh arrives before the interval runs out.
func (c *Call) runSessionTimer(d *sip.Dialog) {
	for {
		st := d.SessionTimer()
		if st.Interval <= 0 {
			return
		}
		refresher := st.WeRefresh(d.IsCaller())
		wait := st.Interval - st.ExpiryWarning()
		if refresher {
			wait = st.Interval / 2
		}
		t := time.NewTimer(wait)
		select {
		case <-c.done:
			t.Stop()
			return
		case <-d.Refreshed():
			t.Stop()
			continue
		case <-t.C:
		}
		if !refresher {
			c.log.Info("call: session expired without refresh", "id", c.id)
			// Record the cause before the BYE ends the dialog, which would
			// otherwise end the call as a plain local hangup.
			c.terminate(Cause{By: PartySystem, Code: 408, Reason: "session timer expired"})
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			_ = d.Bye(ctx, "")
			cancel()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		res, err := d.Refresh(ctx, c.media.CreateOffer)
		cancel()
		if err != nil {
			// RFC 4028 §10: a failed refresh (408, 481) ends the session.
			c.log.Info("call: session refresh failed", "id", c.id, "err", err)
			c.terminate(Cause{By: PartySystem, Code: 408, Reason: "session refresh failed", Err: err})
			bctx, bcancel := context.WithTimeout(context.Background(), 8*time.Second)
			_ = d.Bye(bctx, "")
			bcancel()
			return
		}
		if body := res.Body(); len(body) > 0 {
			_ = c.media.SetRemoteAnswer(body)
		}
	}
}
