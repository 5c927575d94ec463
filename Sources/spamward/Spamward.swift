@main
struct Spamward {
    static func main() { print("spamward") }
}
