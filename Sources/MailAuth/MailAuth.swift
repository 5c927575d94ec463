/// Email authentication (SPF, DKIM, DMARC, ARC).
public enum MailAuth {}
