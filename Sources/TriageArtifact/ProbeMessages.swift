import TriageCore
import TriageModel
import TriageText

/// The messages whose predictions an artifact carries as golden probes, unless the caller gives
/// its own. Written for this project — never copied from training data, so a model file does not
/// carry customers' words. They cover the analyzer's paths: subjects and none, stop words,
/// stemming, digits, punctuation, accents and other scripts, an empty message and a long one.
public enum ProbeMessages {
    public static let standard: [Message] = [
        Message(subject: "Card lost", body: "I lost my card this morning, please block it straight away."),
        Message(subject: "", body: "my card was stolen at the train station, can you cancel it"),
        Message(subject: "Unknown payment", body: "There is a payment of £49.99 on my statement that I did not make."),
        Message(subject: "Re: transfer", body: "The transfer I sent on Monday still has not arrived. Reference 88213."),
        Message(subject: "", body: "How long does an international transfer usually take?"),
        Message(subject: "Exchange rate", body: "Why was the exchange rate on my card payment so bad?"),
        Message(subject: "Top up failed", body: "I tried to top up with my debit card and it was declined twice."),
        Message(subject: "", body: "where can I see my PIN?"),
        Message(subject: "Locked out", body: "I forgot my password and now the app says my account is locked."),
        Message(subject: "New phone", body: "I changed phones and can't log in any more, the code never arrives."),
        Message(subject: "Verify identity", body: "The app keeps asking me to verify my identity. What documents do you accept?"),
        Message(subject: "", body: "is there an age limit to open an account for my son?"),
        Message(subject: "Fee", body: "I was charged a fee for withdrawing cash abroad. Is that normal?"),
        Message(subject: "ATM kept my card", body: "The cash machine swallowed my card and did not give it back."),
        Message(subject: "", body: "The app is down again, nothing loads since this morning!!!"),
        Message(subject: "Complaint", body: "This is the third time I write. Nobody answers and I am very disappointed with your service."),
        Message(subject: "Close account", body: "Please close my account and send the remaining balance to my other bank."),
        Message(subject: "Mortgage", body: "Do you offer mortgages for first-time buyers? What rates can I expect?"),
        Message(subject: "Savings", body: "What interest does the savings account pay, and can I withdraw at any time?"),
        Message(subject: "Direct debit", body: "A direct debit went out twice this month, can you refund one of them?"),
        Message(subject: "Refund", body: "The shop says they refunded me a week ago but I do not see the money."),
        Message(subject: "Apple Pay", body: "Can I add my card to Apple Pay or Google Pay?"),
        Message(subject: "Virtual card", body: "How do I get a disposable virtual card for online shopping?"),
        Message(subject: "Address", body: "I moved house. How do I update my address?"),
        Message(subject: "", body: "thanks for your help yesterday :)"),
        Message(subject: "Kartenverlust", body: "Ich habe meine Karte verloren, bitte sperren Sie sie sofort."),
        Message(subject: "Carte bloquée", body: "Ma carte est bloquée après trois erreurs de code. Que faire ?"),
        Message(subject: "Café", body: "Payé deux fois au café — naïve question, mais est-ce normal ? ½ du montant a disparu."),
        Message(subject: "ΚΑΡΤΑ", body: "Η κάρτα μου δεν λειτουργεί στο εξωτερικό."),
        Message(subject: "", body: "カードが届きません。どうすればいいですか？"),
        Message(subject: "", body: ""),
        // E-mail shapes, for the clean step: an HTML reply with a quote and a signature, and a
        // German reply with an Outlook header block, a sign-off and a disclaimer.
        Message(subject: "Re: Your card", body: "<html><body><div dir=\"ltr\">Hi,<br><br>my new card has not arrived &amp; I need it for a trip.<br></div><div class=\"gmail_signature\">Best regards<br>Sam Example</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, 3 Jun 2024 at 14:02 Support &lt;help@bank.example&gt; wrote:<br></div><blockquote class=\"gmail_quote\">Your transfer has been completed.</blockquote></div></body></html>"),
        Message(subject: "AW: Überweisung", body: "Hallo,\n\nmeine Überweisung vom Montag ist immer noch nicht angekommen.\n\nMit freundlichen Grüßen\nKim Beispiel\n\nDiese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind, informieren Sie bitte den Absender.\n\nVon: Kundenservice <service@bank.example>\nGesendet: Montag, 3. Juni 2024 14:02\nAn: Kim Beispiel\nBetreff: Ihre Karte\n\nIhre Karte wurde entsperrt."),
        Message(subject: "Long message", body: String(repeating: "I have been waiting for my replacement card for weeks and every time I call I am told it is on its way, but nothing arrives. ", count: 12)),
    ]

    /// One probe per word rule (up to 64): its first word or phrase as the body, so that loading
    /// checks that the rules still match as they did (stems, accents, lower case).
    public static func forRules(_ set: RuleSet) -> [Message] {
        set.rules.compactMap { $0.words?.first }.prefix(64).map { Message(subject: "", body: $0) }
    }
}
