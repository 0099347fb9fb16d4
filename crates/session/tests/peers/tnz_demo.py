# Drives the ballast demo host with IBM tnz; prints the transaction id.
# Usage: python tnz_demo.py PORT
import sys, time
from tnz import tnz
port = int(sys.argv[1])
t = tnz.Tnz()
t.connect("127.0.0.1", port, secure=False)
def wait_text(s, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if s in t.scrstr():
            return
        t.wait(0.2)
    raise SystemExit("timeout waiting for %r:\n%s" % (s, t.scrstr()))
wait_text("PLEASE SIGN ON")
t.key_data("DEMO"); t.key_tab(); t.key_data("SECRET"); t.enter()
wait_text("MAIN MENU")
t.key_data("1"); t.enter()
wait_text("RECORD ENTRY")
t.key_data("GADGETS"); t.key_tab(); t.key_data("77"); t.enter()
wait_text("TRANSACTION ID: ")
scr = t.scrstr()
txid = scr.split("TRANSACTION ID: ")[1].split()[0]
t.enter(); wait_text("MAIN MENU")
t.key_data("2"); t.enter(); wait_text("RECORD QUERY")
t.key_data(txid); t.enter(); wait_text("FOUND " + txid)
print("TXID", txid)
t.close()
