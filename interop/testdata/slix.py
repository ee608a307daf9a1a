"""slixmpp side of Parley's interop tests (interop/interop_test.go).

Run with Debian's /usr/bin/python3 and python3-slixmpp. Every account is
created by XEP-0077 in-band registration on the stream that then logs it
in, so each client goes STARTTLS -> register -> SASL -> bind, the way a
real client signs up. The certificate is checked against the server's
self-signed certificate (--cafile) for the name of the domain.

Commands:

  chat     alice and bob register, log in, and exchange one message each
           way: alice to bob's bare JID, bob's reply to alice's full JID.
           With --idle N both stay silent N seconds before each message
           (long enough, with N > 2, for the server to park both
           sessions).
  receive  registers a sender account (logs in, then leaves) and a
           receiver account that stays online; prints {"ready": ...} on
           one line, then waits for one message with a body.

Each command prints one JSON object per line on stdout for the Go test to
check, and logs slixmpp's debug output (the XML sent and received) on
stderr. Everything is bounded by --timeout; the exit status is 0 only
when the whole scenario finished.
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

log = logging.getLogger("interop")


class Client(slixmpp.ClientXMPP):
    """A client that registers its account in band, then logs in.

    With register=False it logs in to an existing account instead; with
    initial_presence=False it sends no presence when the session starts.
    """

    def __init__(self, jid, password, cafile, register=True, initial_presence=True):
        super().__init__(jid, password)
        self.ca_certs = cafile
        for plugin in ("xep_0030", "xep_0004", "xep_0066", "xep_0077"):
            self.register_plugin(plugin)
        self["xep_0077"].create_account = register
        self.initial_presence = initial_presence
        self._no_channel_binding()
        self.result = {
            "jid": jid,
            "registered": False,
            "failed_mechanisms": [],
            "received": [],
        }
        self.ready = self.loop.create_future()
        self.inbox = asyncio.Queue()
        self.add_event_handler("register", self._on_register)
        self.add_event_handler("tls_success", self._on_tls)
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("failed_all_auth", self._fail("no SASL mechanism succeeded"))
        self.add_event_handler("ssl_invalid_chain", self._fail("certificate not trusted"))
        self.add_event_handler("connection_failed", self._fail("connection failed"))
        self.add_event_handler("disconnected", self._fail("disconnected before the session started"))

    def _no_channel_binding(self):
        # slixmpp 1.8.3 binds SCRAM only to tls-unique, which TLS 1.3 does
        # not define (RFC 9266) and so Parley does not offer (it announces
        # tls-exporter and tls-server-end-point, XEP-0440). Its -PLUS
        # attempts fail, and its fallback sends the GS2 flag "y" ("I can
        # bind, but you cannot"), which a server that offered -PLUS must
        # refuse as a downgrade (RFC 5802 section 6). Configure it for what
        # it can really do on TLS 1.3: SCRAM without channel binding ("n").
        mechs = self["feature_mechanisms"]
        mechs.use_mechs = {"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}
        credentials = mechs.sasl_callback

        def without_binding(required, optional):
            values = credentials(required, optional - {"channel_binding"})
            values["channel_binding"] = b""
            return values
        mechs.sasl_callback = without_binding

    def send(self, data, use_filters=True):
        # slixmpp 1.8.3 holds back every stanza sent before the session
        # starts except bind and session IQs, so its own XEP-0077 plugin
        # never gets its registration IQs out (they are logged as "NOT
        # SENT"). Later slixmpp lets jabber:iq:register IQs through in the
        # same check; do what they do.
        if isinstance(data, slixmpp.Iq) and data.get_plugin("register", check=True):
            saved, self._always_send_everything = self._always_send_everything, True
            try:
                return super().send(data, use_filters)
            finally:
                self._always_send_everything = saved
        return super().send(data, use_filters)

    def _fail(self, why):
        def handler(event):
            if not self.ready.done():
                self.result.setdefault("error", why + ": " + str(event))
                self.ready.set_exception(RuntimeError(self.boundjid.bare + ": " + why))
        return handler

    async def _on_register(self, form):
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=10)
        except (IqError, IqTimeout) as e:
            self._fail("registration refused")(e)
            self.disconnect()
            return
        self.result["registered"] = True

    def _on_failed_auth(self, stanza):
        mech = self["feature_mechanisms"].mech
        self.result["failed_mechanisms"].append(
            {"mechanism": mech.name if mech else None, "condition": stanza["condition"], "text": stanza["text"]})

    def _encrypted(self):
        return isinstance(self.socket, (ssl.SSLObject, ssl.SSLSocket))

    def _on_tls(self, event):
        # Fired when the STARTTLS handshake has completed (slixmpp fires it
        # before it swaps in the TLS socket; direct TLS fires "connected").
        self.result["starttls"] = True

    def _on_start(self, event):
        tls = self._encrypted()
        self.result.update({
            "mechanism": self["feature_mechanisms"].mech.name,
            "tls": tls,
            "tls_version": self.socket.version() if tls else None,
            "bound": str(self.boundjid),
        })
        if self.initial_presence:
            self.send_presence()
        if not self.ready.done():
            self.ready.set_result(None)

    def _on_message(self, msg):
        if msg["body"]:
            m = {"from": str(msg["from"]), "to": str(msg["to"]), "type": msg["type"], "body": msg["body"]}
            self.result["received"].append(m)
            self.inbox.put_nowait(m)

    async def start(self, host, port):
        self.connect((host, port), force_starttls=True)
        await self.ready

    async def stop(self):
        if self.transport:
            await self.disconnect(wait=5)


async def chat(args, out):
    alice = Client("alice@" + args.domain, "alice-secret", args.cafile)
    bob = Client("bob@" + args.domain, "bob-secret", args.cafile)
    out["clients"] = [alice.result, bob.result]
    try:
        await asyncio.gather(alice.start(args.host, args.port), bob.start(args.host, args.port))

        await asyncio.sleep(args.idle)
        alice.send_message(mto=bob.boundjid.bare, mbody=args.token + " alice to bob", mtype="chat")
        got = await bob.inbox.get()
        await asyncio.sleep(args.idle)
        bob.send_message(mto=got["from"], mbody=args.token + " bob to alice", mtype="chat")
        await alice.inbox.get()
    finally:
        await asyncio.gather(alice.stop(), bob.stop())


async def receive(args, out):
    sender = Client(args.sender, args.sender_password, args.cafile)
    out["clients"] = [sender.result]
    try:
        await sender.start(args.host, args.port)
    finally:
        await sender.stop()
    receiver = Client(args.receiver, args.receiver_password, args.cafile)
    out["clients"].append(receiver.result)
    try:
        await receiver.start(args.host, args.port)
        print(json.dumps({"ready": str(receiver.boundjid)}), flush=True)
        await receiver.inbox.get()
    finally:
        await receiver.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["chat", "receive"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--domain", default="localhost")
    p.add_argument("--cafile", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--token", default="interop")
    p.add_argument("--idle", type=float, default=0)
    p.add_argument("--sender")
    p.add_argument("--sender-password")
    p.add_argument("--receiver")
    p.add_argument("--receiver-password")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    out = {"ok": False}
    run = chat if args.command == "chat" else receive
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(run(args, out), args.timeout))
        out["ok"] = True
    except asyncio.TimeoutError:
        out["error"] = "timed out after %gs" % args.timeout
    except Exception as e:  # reported to the Go test, which fails on it
        log.exception("scenario failed")
        out["error"] = repr(e)
    # Let slixmpp's own tasks end before the loop goes.
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
