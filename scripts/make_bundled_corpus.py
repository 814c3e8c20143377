"""Generate the training text of the bundled tiny chat model.

The bundled model (``resources/models/tiny-chat``) is pretrained only on text that ships in
this repository. This script writes that text once, deterministically, from hand-written word
lists and sentence templates, so the corpus is small, fully ours, and reproducible:

* ``resources/models/corpus/sentences.txt``: simple English paragraphs, one per line.
* ``resources/models/corpus/chats.jsonl``: short chat conversations, one JSON object per
  line, ``{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}]}``.

The output is committed next to this script; rerunning it with the same seed reproduces the
same bytes. Run it from anywhere::

    python scripts/make_bundled_corpus.py
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "resources" / "models" / "corpus"
SEED = 20240611

# Size targets in bytes. They keep the whole corpus well under 1.5 MB while leaving enough
# text for a few minutes of CPU pretraining.
SENTENCES_TARGET_BYTES = 430_000
CHATS_TARGET_BYTES = 900_000

# ---------------------------------------------------------------------------------------------
# Word lists. Everything below was written for this project.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Animal:
    """One animal and the simple facts the corpus states about it."""

    name: str
    plural: str
    legs: int | None
    sound: str | None
    home: str
    definition: str
    size: int  # rough rank, 1 = tiny, 9 = huge; used for "which is bigger" questions
    color: str


ANIMALS = [
    Animal("dog", "dogs", 4, "barks", "in homes with people",
           "a friendly animal that many people keep as a pet", 4, "brown"),
    Animal("cat", "cats", 4, "meows", "in homes with people",
           "a small furry animal that likes to sleep and chase mice", 3, "gray"),
    Animal("cow", "cows", 4, "moos", "on farms",
           "a large farm animal that gives us milk", 7, "black and white"),
    Animal("horse", "horses", 4, "neighs", "on farms and in fields",
           "a big strong animal that people can ride", 7, "brown"),
    Animal("sheep", "sheep", 4, "says baa", "on farms and on hills",
           "a farm animal with a thick coat of wool", 5, "white"),
    Animal("pig", "pigs", 4, "oinks", "on farms",
           "a farm animal with a round nose and a curly tail", 5, "pink"),
    Animal("duck", "ducks", 2, "quacks", "near ponds and rivers",
           "a bird that can swim, walk and fly", 2, "white"),
    Animal("chicken", "chickens", 2, "clucks", "on farms",
           "a farm bird that lays eggs", 2, "brown"),
    Animal("owl", "owls", 2, "hoots", "in forests",
           "a bird with big eyes that hunts at night", 2, "brown"),
    Animal("frog", "frogs", 4, "croaks", "near ponds and streams",
           "a small animal that can jump far and swim well", 1, "green"),
    Animal("lion", "lions", 4, "roars", "on the grasslands of Africa",
           "a big wild cat with a loud roar", 7, "golden"),
    Animal("elephant", "elephants", 4, "trumpets", "in Africa and Asia",
           "the largest animal that lives on land", 9, "gray"),
    Animal("bee", "bees", 6, "buzzes", "in a hive",
           "a small flying insect that makes honey", 1, "yellow and black"),
    Animal("spider", "spiders", 8, None, "in gardens, houses and forests",
           "a small animal with eight legs that spins webs", 1, "black"),
    Animal("snake", "snakes", 0, "hisses", "in grass, forests and deserts",
           "a long animal with no legs that moves by sliding", 3, "green"),
    Animal("whale", "whales", 0, "sings", "in the ocean",
           "a huge animal that lives in the ocean and breathes air", 9, "blue"),
    Animal("mouse", "mice", 4, "squeaks", "in fields and in houses",
           "a tiny animal with a long thin tail", 1, "gray"),
    Animal("rabbit", "rabbits", 4, None, "in fields and in burrows",
           "a small animal with long ears that hops", 2, "white"),
    Animal("wolf", "wolves", 4, "howls", "in forests and on mountains",
           "a wild animal that lives and hunts in a pack", 5, "gray"),
    Animal("bear", "bears", 4, "growls", "in forests and on mountains",
           "a big heavy animal with thick fur", 8, "brown"),
    Animal("ant", "ants", 6, None, "in a nest under the ground",
           "a tiny insect that lives in a big group", 1, "black"),
    Animal("butterfly", "butterflies", 6, None, "in gardens and fields",
           "an insect with large bright wings", 1, "orange"),
    Animal("goat", "goats", 4, "bleats", "on farms and on mountains",
           "a farm animal with horns that climbs very well", 5, "white"),
    Animal("donkey", "donkeys", 4, "brays", "on farms",
           "an animal like a small horse with long ears", 6, "gray"),
    Animal("penguin", "penguins", 2, None, "in cold places near the sea",
           "a bird that cannot fly but swims very well", 3, "black and white"),
    Animal("turtle", "turtles", 4, None, "in water and on land",
           "an animal with a hard shell on its back", 3, "green"),
    Animal("giraffe", "giraffes", 4, None, "on the grasslands of Africa",
           "the tallest animal, with a very long neck", 8, "yellow and brown"),
    Animal("crab", "crabs", 10, None, "in the sea and on beaches",
           "a sea animal with a hard shell and two big claws", 1, "red"),
    Animal("tiger", "tigers", 4, "roars", "in the forests of Asia",
           "a big wild cat with orange fur and black stripes", 7, "orange and black"),
    Animal("zebra", "zebras", 4, None, "on the grasslands of Africa",
           "an animal like a horse with black and white stripes", 7, "black and white"),
    Animal("parrot", "parrots", 2, "talks", "in warm forests",
           "a colorful bird that can copy sounds", 2, "green"),
    Animal("camel", "camels", 4, None, "in the desert",
           "a large animal with a hump that can walk far without water", 8, "brown"),
    Animal("fox", "foxes", 4, "barks", "in forests and fields",
           "a wild animal with a bushy tail and pointed ears", 4, "orange"),
    Animal("squirrel", "squirrels", 4, None, "in trees",
           "a small animal with a bushy tail that collects nuts", 2, "brown"),
    Animal("dolphin", "dolphins", 0, "clicks", "in the sea",
           "a clever sea animal that breathes air and swims fast", 7, "gray"),
    Animal("bat", "bats", 2, "squeaks", "in caves",
           "a small animal with wings that flies at night", 1, "black"),
]


@dataclass(frozen=True)
class Thing:
    """An everyday object, place, food or thing in nature."""

    name: str
    article: str  # "a", "an" or "" for mass nouns such as "bread"
    definition: str
    use: str | None  # "what is it for" answer, as a verb phrase
    kind: str  # object, food, place, nature, vehicle, instrument, clothing


THINGS = [
    Thing("chair", "a", "a piece of furniture that you sit on", "sit on", "object"),
    Thing("table", "a", "a piece of furniture with a flat top and legs",
          "put things on, like plates and books", "object"),
    Thing("book", "a", "a set of printed pages that you can read", "read stories and learn",
          "object"),
    Thing("pen", "a", "a tool for writing with ink", "write", "object"),
    Thing("pencil", "a", "a thin wooden tool for writing and drawing", "write and draw",
          "object"),
    Thing("clock", "a", "a device that shows the time", "tell the time", "object"),
    Thing("lamp", "a", "a device that gives light", "light up a room", "object"),
    Thing("cup", "a", "a small container that you drink from", "drink tea, milk or water",
          "object"),
    Thing("spoon", "a", "a tool with a small bowl at the end", "eat soup and stir drinks",
          "object"),
    Thing("fork", "a", "a tool with a few points at the end", "pick up food", "object"),
    Thing("knife", "a", "a tool with a sharp edge", "cut things", "object"),
    Thing("plate", "a", "a flat dish that you put food on", "hold food", "object"),
    Thing("bed", "a", "a piece of furniture for sleeping", "sleep", "object"),
    Thing("door", "a", "a panel that opens and closes the way into a room",
          "go in and out of a room", "object"),
    Thing("window", "a", "an opening in a wall with glass in it", "let light into a room",
          "object"),
    Thing("key", "a", "a small piece of metal that opens a lock", "open a lock", "object"),
    Thing("bag", "a", "a soft container that you carry things in", "carry things", "object"),
    Thing("umbrella", "an", "a cover on a stick that keeps you dry in the rain",
          "stay dry in the rain", "object"),
    Thing("mirror", "a", "a piece of glass that shows your reflection", "see yourself",
          "object"),
    Thing("candle", "a", "a stick of wax that gives light when it burns", "make light",
          "object"),
    Thing("ladder", "a", "a set of steps that you can carry", "climb up high", "object"),
    Thing("hammer", "a", "a tool with a heavy metal head", "hit nails into wood", "object"),
    Thing("map", "a", "a drawing that shows where places are", "find your way", "object"),
    Thing("kite", "a", "a light frame covered with paper or cloth that flies in the wind",
          "play outside on a windy day", "object"),
    Thing("ball", "a", "a round object used in many games", "play games", "object"),
    Thing("computer", "a", "a machine that stores information and runs programs",
          "write, calculate and play games", "object"),
    Thing("phone", "a", "a device that lets you talk to people far away",
          "call and send messages", "object"),
    Thing("camera", "a", "a device that takes pictures", "take photos", "object"),
    Thing("bottle", "a", "a container with a narrow neck for liquids", "hold water or juice",
          "object"),
    Thing("towel", "a", "a piece of soft cloth", "dry yourself", "object"),
    Thing("bicycle", "a", "a vehicle with two wheels that you ride by pushing pedals",
          "travel short distances", "vehicle"),
    Thing("car", "a", "a vehicle with four wheels and an engine", "travel on roads",
          "vehicle"),
    Thing("bus", "a", "a large vehicle that carries many people", "take many people to work "
          "and school", "vehicle"),
    Thing("train", "a", "a line of carriages that runs on rails", "travel between cities",
          "vehicle"),
    Thing("boat", "a", "a small vehicle that floats on water", "travel on water", "vehicle"),
    Thing("airplane", "an", "a vehicle with wings that flies in the sky",
          "travel far very quickly", "vehicle"),
    Thing("guitar", "a", "a musical instrument with six strings", "play music", "instrument"),
    Thing("piano", "a", "a large musical instrument with black and white keys", "play music",
          "instrument"),
    Thing("drum", "a", "a musical instrument that you hit with sticks or hands",
          "keep the beat in music", "instrument"),
    Thing("violin", "a", "a small wooden instrument that you play with a bow", "play music",
          "instrument"),
    Thing("hat", "a", "a piece of clothing that you wear on your head",
          "keep your head warm or shaded", "clothing"),
    Thing("coat", "a", "a warm piece of clothing that you wear outside", "keep warm",
          "clothing"),
    Thing("shoe", "a", "a piece of clothing for your foot", "protect your feet", "clothing"),
    Thing("scarf", "a", "a long piece of cloth that you wear around your neck",
          "keep your neck warm", "clothing"),
    Thing("glove", "a", "a piece of clothing for your hand", "keep your hands warm",
          "clothing"),
    Thing("apple", "an", "a round fruit that grows on trees", "eat as a snack", "food"),
    Thing("banana", "a", "a long curved fruit with a yellow skin", "eat as a snack", "food"),
    Thing("orange", "an", "a round juicy fruit with a thick skin", "eat or make juice", "food"),
    Thing("lemon", "a", "a sour yellow fruit", "add a sour taste to food and drinks", "food"),
    Thing("grape", "a", "a small round fruit that grows in bunches", "eat or make juice",
          "food"),
    Thing("strawberry", "a", "a small sweet red fruit", "eat as a sweet snack", "food"),
    Thing("carrot", "a", "a long orange vegetable that grows under the ground",
          "eat raw or cooked", "food"),
    Thing("potato", "a", "a vegetable that grows under the ground", "cook and eat", "food"),
    Thing("tomato", "a", "a soft red fruit that people often use like a vegetable",
          "make salads and sauces", "food"),
    Thing("bread", "", "a food made from flour, water and yeast and baked in an oven",
          "make sandwiches and toast", "food"),
    Thing("cheese", "", "a food made from milk", "eat on bread or in cooking", "food"),
    Thing("rice", "", "small white grains that people cook and eat", "cook a meal", "food"),
    Thing("soup", "", "a warm liquid food made with vegetables or meat", "eat a warm meal",
          "food"),
    Thing("honey", "", "a sweet, thick food that bees make", "sweeten tea and bread", "food"),
    Thing("cake", "a", "a sweet baked food made with flour, sugar and eggs",
          "celebrate birthdays", "food"),
    Thing("house", "a", "a building where people live", "live in", "place"),
    Thing("school", "a", "a place where children learn", "learn and study", "place"),
    Thing("library", "a", "a place where you can read and borrow books", "borrow books",
          "place"),
    Thing("hospital", "a", "a place where doctors and nurses help sick people",
          "get medical care", "place"),
    Thing("garden", "a", "a piece of land where people grow flowers and vegetables",
          "grow plants", "place"),
    Thing("farm", "a", "a place where people grow crops and keep animals",
          "grow food", "place"),
    Thing("museum", "a", "a building where people can look at art and old objects",
          "learn about history and art", "place"),
    Thing("bakery", "a", "a shop that makes and sells bread and cakes",
          "buy bread and cakes", "place"),
    Thing("park", "a", "a public green space with grass and trees", "walk and play", "place"),
    Thing("kitchen", "a", "a room where people cook food", "cook meals", "place"),
    Thing("river", "a", "a long stream of water that flows to the sea", None, "nature"),
    Thing("mountain", "a", "a very high hill with steep sides", None, "nature"),
    Thing("ocean", "an", "a very large area of salt water", None, "nature"),
    Thing("forest", "a", "a large area covered with trees", None, "nature"),
    Thing("desert", "a", "a dry area of land with very little rain", None, "nature"),
    Thing("island", "an", "a piece of land with water all around it", None, "nature"),
    Thing("cloud", "a", "a white or gray mass of tiny water drops in the sky", None,
          "nature"),
    Thing("rainbow", "a", "an arc of colors in the sky after rain", None, "nature"),
    Thing("volcano", "a", "a mountain that can throw out hot melted rock", None, "nature"),
    Thing("lake", "a", "a large area of water with land all around it", None, "nature"),
    Thing("tree", "a", "a tall plant with a wooden trunk and branches", None, "nature"),
    Thing("flower", "a", "the colorful part of a plant", None, "nature"),
]

COLORED = [
    ("the sky", "blue"), ("grass", "green"), ("snow", "white"), ("a banana", "yellow"),
    ("a strawberry", "red"), ("a carrot", "orange"), ("coal", "black"), ("milk", "white"),
    ("a lemon", "yellow"), ("an orange", "orange"), ("chocolate", "brown"),
    ("a tomato", "red"), ("a leaf", "green"), ("a crow", "black"), ("a grape", "purple"),
    ("a pumpkin", "orange"), ("the sea", "blue"), ("a fire truck", "red"),
    ("a polar bear", "white"), ("a frog", "green"), ("a flamingo", "pink"),
    ("an elephant", "gray"), ("a zebra", "black and white"), ("a panda", "black and white"),
    ("the sun", "yellow"), ("a cherry", "red"), ("a lime", "green"), ("an eggplant", "purple"),
    ("a tiger", "orange and black"), ("a cloud", "white"), ("a mouse", "gray"),
    ("a penguin", "black and white"), ("a ripe plum", "purple"), ("butter", "yellow"),
    ("salt", "white"), ("a peach", "orange and pink"), ("a blueberry", "blue"),
]

COLORS = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black",
          "white", "gray", "golden", "silver"]

OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"),
    ("light", "dark"), ("open", "closed"), ("new", "old"), ("day", "night"), ("wet", "dry"),
    ("full", "empty"), ("hard", "soft"), ("early", "late"), ("high", "low"),
    ("loud", "quiet"), ("rich", "poor"), ("long", "short"), ("strong", "weak"),
    ("clean", "dirty"), ("first", "last"), ("inside", "outside"), ("left", "right"),
    ("young", "old"), ("win", "lose"), ("push", "pull"), ("start", "finish"),
    ("thick", "thin"), ("heavy", "light"), ("near", "far"), ("sweet", "sour"),
    ("true", "false"), ("yes", "no"), ("always", "never"), ("buy", "sell"),
    ("give", "take"), ("above", "below"), ("before", "after"), ("easy", "difficult"),
    ("cheap", "expensive"), ("right", "wrong"), ("awake", "asleep"), ("laugh", "cry"),
    ("question", "answer"), ("north", "south"), ("east", "west"), ("summer", "winter"),
    ("friend", "enemy"), ("arrive", "leave"), ("remember", "forget"), ("brave", "afraid"),
    ("tall", "short"), ("wide", "narrow"), ("safe", "dangerous"), ("alive", "dead"),
    ("boy", "girl"), ("in", "out"), ("on", "off"), ("come", "go"), ("sit", "stand"),
    ("smooth", "rough"), ("shallow", "deep"), ("polite", "rude"), ("true", "false"),
]

PLURALS = [
    ("child", "children"), ("mouse", "mice"), ("foot", "feet"), ("tooth", "teeth"),
    ("man", "men"), ("woman", "women"), ("person", "people"), ("box", "boxes"),
    ("city", "cities"), ("baby", "babies"), ("leaf", "leaves"), ("knife", "knives"),
    ("wolf", "wolves"), ("fish", "fish"), ("sheep", "sheep"), ("goose", "geese"),
    ("bus", "buses"), ("glass", "glasses"), ("dish", "dishes"), ("church", "churches"),
    ("story", "stories"), ("day", "days"), ("toy", "toys"), ("potato", "potatoes"),
    ("tomato", "tomatoes"), ("hero", "heroes"), ("cactus", "cacti"), ("book", "books"),
    ("cat", "cats"), ("apple", "apples"), ("bird", "birds"), ("tree", "trees"),
    ("ox", "oxen"), ("life", "lives"), ("half", "halves"), ("loaf", "loaves"),
    ("shelf", "shelves"), ("key", "keys"), ("party", "parties"), ("fox", "foxes"),
    ("watch", "watches"), ("deer", "deer"), ("house", "houses"), ("car", "cars"),
]

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"),
    ("India", "New Delhi"), ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Canada", "Ottawa"),
    ("Mexico", "Mexico City"), ("Brazil", "Brasília"), ("Argentina", "Buenos Aires"),
    ("Peru", "Lima"), ("Chile", "Santiago"), ("Australia", "Canberra"),
    ("Russia", "Moscow"), ("Poland", "Warsaw"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Ireland", "Dublin"),
    ("the United Kingdom", "London"), ("Greece", "Athens"), ("Turkey", "Ankara"),
    ("Austria", "Vienna"), ("Hungary", "Budapest"), ("the Netherlands", "Amsterdam"),
    ("Belgium", "Brussels"), ("Switzerland", "Bern"), ("South Korea", "Seoul"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("Indonesia", "Jakarta"),
    ("the Philippines", "Manila"), ("Nigeria", "Abuja"), ("Morocco", "Rabat"),
    ("Iceland", "Reykjavik"), ("the Czech Republic", "Prague"), ("Colombia", "Bogotá"),
    ("Cuba", "Havana"), ("New Zealand", "Wellington"), ("Ghana", "Accra"),
    ("Ethiopia", "Addis Ababa"), ("Romania", "Bucharest"), ("Ukraine", "Kyiv"),
]

NAMES = [
    "Anna", "Ben", "Carlos", "Dina", "Emma", "Farid", "Grace", "Hana", "Ivan", "Jamal",
    "Kenji", "Lena", "Maya", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara",
    "Umar", "Vera", "Wei", "Xavier", "Yuki", "Zoe", "Leo", "Mia", "Noah", "Lily", "Hugo",
    "Ines", "Ali", "Sofia", "Tom", "Eva", "Max", "Lucy", "Ravi", "Aiko", "Marta", "Pablo",
    "Elif", "Jonas", "Amara", "Kofi", "Nina", "Felix", "Clara", "Mateo", "José", "Zoë",
    "Renée", "Søren", "Chloé", "Björn", "Ada", "Oscar", "Iris", "Rafael",
]

CITIES = ["Paris", "Tokyo", "Lima", "Cairo", "Oslo", "Rome", "Berlin", "Nairobi", "Seoul",
          "Madrid", "London", "Dublin", "Vienna", "Hanoi", "Toronto", "Sydney", "Lisbon",
          "Prague", "Mumbai", "Chicago", "Bogotá", "Kraków", "Zürich", "Montréal"]

SECRET_WORDS = ["pineapple", "thunder", "velvet", "marble", "lantern", "cobalt", "meadow",
                "pepper", "harbor", "zigzag", "saffron", "falcon", "tulip", "quartz",
                "biscuit", "comet", "jasmine", "walnut", "orbit", "pebble", "maple", "echo",
                "ginger", "nimbus", "topaz", "willow", "cactus", "lagoon", "tango", "raven"]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
SEASONS = [("spring", "March, April and May"), ("summer", "June, July and August"),
           ("autumn", "September, October and November"),
           ("winter", "December, January and February")]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth", "eleventh", "twelfth"]
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]

SPELL_WORDS = ["cat", "dog", "sun", "tree", "house", "apple", "river", "green", "happy",
               "water", "music", "chair", "bread", "cloud", "light", "smile", "train",
               "bird", "book", "moon", "star", "fish", "milk", "rain", "snow", "lamp",
               "road", "ship", "door", "garden", "window", "orange", "school", "friend"]

RHYMES = [("cat", "hat"), ("dog", "log"), ("sun", "fun"), ("tree", "bee"), ("cake", "lake"),
          ("moon", "spoon"), ("star", "car"), ("rain", "train"), ("book", "cook"),
          ("bed", "red"), ("fish", "dish"), ("night", "light"), ("house", "mouse"),
          ("boat", "coat"), ("ring", "king"), ("hill", "mill"), ("sand", "hand"),
          ("bell", "shell"), ("door", "floor"), ("blue", "shoe")]

ADJECTIVES = ["small", "big", "happy", "quiet", "old", "young", "little", "brave", "clever",
              "sleepy", "friendly", "busy", "tired", "curious", "gentle", "hungry", "lazy",
              "shy", "kind", "funny"]
WEATHER = ["sunny", "cloudy", "rainy", "windy", "cold", "warm", "foggy", "snowy", "clear"]
PLACES = ["park", "market", "library", "beach", "forest", "garden", "school", "bakery",
          "river", "lake", "museum", "farm", "zoo", "station", "hill", "square"]
FOODS = ["bread and jam", "an apple", "rice and eggs", "warm soup", "a banana", "porridge",
         "toast with honey", "fresh fruit", "pancakes", "yogurt", "noodles", "a sandwich"]
HOBBIES = ["reading", "painting", "swimming", "running", "singing", "drawing", "cooking",
           "dancing", "gardening", "playing chess", "playing the guitar", "writing stories",
           "riding a bicycle", "baking bread", "watching birds", "taking photos"]
TIMES = ["in the morning", "in the afternoon", "in the evening", "at night", "at noon",
         "after lunch", "before dinner", "on the weekend"]
FEELINGS = ["happy", "tired", "excited", "calm", "proud", "surprised", "sleepy", "glad"]
JOBS = [("doctor", "helps sick people get better"), ("teacher", "helps students learn"),
        ("farmer", "grows food and looks after animals"), ("baker", "makes bread and cakes"),
        ("pilot", "flies airplanes"), ("nurse", "cares for patients in a hospital"),
        ("chef", "cooks food in a restaurant"), ("firefighter", "puts out fires"),
        ("police officer", "keeps people safe"), ("artist", "makes paintings and drawings"),
        ("builder", "builds houses and other buildings"),
        ("gardener", "looks after plants and gardens"), ("writer", "writes books and stories"),
        ("mechanic", "repairs cars"), ("dentist", "looks after people's teeth"),
        ("librarian", "looks after the books in a library"),
        ("musician", "plays music"), ("scientist", "studies how the world works"),
        ("programmer", "writes code for computers"), ("vet", "helps sick animals"),
        ("driver", "drives a bus, a taxi or a truck"), ("fisher", "catches fish"),
        ("tailor", "makes and repairs clothes"), ("carpenter", "makes things from wood")]

# Hand-written question and answer pairs about everyday knowledge.
GENERAL_QA = [
    ("How many days are in a week?", "There are seven days in a week."),
    ("How many months are in a year?", "There are twelve months in a year."),
    ("How many hours are in a day?", "There are twenty-four hours in a day."),
    ("How many minutes are in an hour?", "There are sixty minutes in an hour."),
    ("How many seconds are in a minute?", "There are sixty seconds in a minute."),
    ("How many days are in a year?", "A year has 365 days, or 366 in a leap year."),
    ("How many continents are there?", "There are seven continents."),
    ("What is the largest ocean?", "The Pacific Ocean is the largest ocean."),
    ("What is the closest star to Earth?", "The Sun is the closest star to Earth."),
    ("What do plants need to grow?", "Plants need water, light and air to grow."),
    ("Why do we need sleep?", "Sleep lets the body and the brain rest and recover."),
    ("Why is the sky blue?", "Air scatters blue sunlight more than other colors."),
    ("What is ice?", "Ice is water that has frozen because it is very cold."),
    ("At what temperature does water freeze?",
     "Water freezes at 0 degrees Celsius, which is 32 degrees Fahrenheit."),
    ("At what temperature does water boil?",
     "At sea level, water boils at 100 degrees Celsius."),
    ("What do bees make?", "Bees make honey and wax."),
    ("What is the biggest planet?", "Jupiter is the biggest planet in our solar system."),
    ("Which planet do we live on?", "We live on the planet Earth."),
    ("What is the Moon?", "The Moon is a large rock that goes around the Earth."),
    ("How many planets are in the solar system?",
     "There are eight planets in the solar system."),
    ("What gives us light during the day?", "The Sun gives us light during the day."),
    ("What do cows eat?", "Cows mostly eat grass and hay."),
    ("What do we breathe?", "We breathe air, and our bodies use the oxygen in it."),
    ("What is rain?", "Rain is water that falls from clouds in drops."),
    ("Where does the sun rise?", "The sun rises in the east."),
    ("Where does the sun set?", "The sun sets in the west."),
    ("What is a year?", "A year is the time the Earth takes to go around the Sun."),
    ("What is a day?", "A day is the time the Earth takes to spin around once."),
    ("What is the heart for?", "The heart pumps blood around the body."),
    ("What are lungs for?", "The lungs take in air so the body gets oxygen."),
    ("How many legs does a human have?", "A human has two legs."),
    ("How many fingers are on one hand?", "There are five fingers on one hand."),
    ("What is the color of a healthy leaf?", "A healthy leaf is usually green."),
    ("What is a triangle?", "A triangle is a shape with three sides."),
    ("What is a square?", "A square is a shape with four equal sides."),
    ("What is a circle?", "A circle is a round shape with no corners."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("How many sides does a pentagon have?", "A pentagon has five sides."),
    ("What is a word?", "A word is a group of letters that has a meaning."),
    ("How many letters are in the English alphabet?",
     "There are twenty-six letters in the English alphabet."),
    ("What is the first letter of the alphabet?", "The first letter of the alphabet is A."),
    ("What is the last letter of the alphabet?", "The last letter of the alphabet is Z."),
    ("What is a vowel?", "A vowel is one of the letters A, E, I, O and U."),
    ("What is a sentence?", "A sentence is a group of words that expresses a full idea."),
    ("What is music?", "Music is sound arranged in a pleasant way."),
    ("What is a computer program?",
     "A computer program is a list of instructions that a computer follows."),
    ("What is the internet?",
     "The internet is a huge network that connects computers around the world."),
    ("What is a password?", "A password is a secret word that protects an account."),
    ("Why should I wash my hands?", "Washing your hands removes germs and keeps you healthy."),
    ("Why is exercise good?", "Exercise makes your heart, muscles and mind stronger."),
    ("What is a healthy breakfast?", "Oatmeal with fruit is a simple, healthy breakfast."),
    ("Why do leaves fall in autumn?",
     "Trees drop their leaves in autumn to save water during the cold months."),
    ("What makes a rainbow?", "A rainbow appears when sunlight shines through raindrops."),
    ("Why do birds fly south?", "Many birds fly south to find warm weather and food."),
    ("What is gravity?", "Gravity is the force that pulls things toward the ground."),
    ("What is electricity?", "Electricity is a form of energy that powers lights and machines."),
    ("What is a map for?", "A map shows where places are and helps you find your way."),
    ("What is a calendar?", "A calendar shows the days, weeks and months of a year."),
    ("What is a dictionary?", "A dictionary is a book that explains the meaning of words."),
    ("What is a good way to learn?", "Practice a little every day and ask questions."),
    ("What is the tallest animal?", "The giraffe is the tallest animal."),
    ("What is the largest land animal?", "The elephant is the largest land animal."),
    ("What is the fastest land animal?", "The cheetah is the fastest land animal."),
    ("Can penguins fly?", "No, penguins cannot fly, but they swim very well."),
    ("Do fish sleep?", "Yes, fish rest, but most of them keep their eyes open."),
    ("Is the Sun a star?", "Yes, the Sun is a star."),
    ("Is a tomato a fruit?", "Yes, a tomato is a fruit, although people cook it like a "
     "vegetable."),
    ("Is a whale a fish?", "No, a whale is a mammal that lives in the sea."),
    ("Is the Moon bigger than the Earth?", "No, the Moon is much smaller than the Earth."),
    ("Can a spider fly?", "No, a spider cannot fly."),
    ("Is snow cold?", "Yes, snow is cold because it is frozen water."),
    ("Is fire hot?", "Yes, fire is very hot, so keep a safe distance."),
    ("Is water wet?", "Yes, water makes things wet."),
]

ADVICE = [
    ("How can I sleep better?",
     "Go to bed at the same time every night and keep your room dark and quiet."),
    ("How can I learn a new language?",
     "Practice a little every day and talk with people who speak it."),
    ("How can I stay healthy?", "Eat fruit and vegetables, drink water and move every day."),
    ("How do I make tea?", "Boil water, pour it over a tea bag and wait a few minutes."),
    ("How do I make toast?", "Put a slice of bread in a toaster until it turns golden."),
    ("How can I be more productive?",
     "Make a short list of tasks and do the most important one first."),
    ("How can I calm down?", "Take a few slow, deep breaths and relax your shoulders."),
    ("How do I plant a seed?",
     "Put the seed in soil, cover it lightly and water it every few days."),
    ("How can I save money?", "Write down what you spend and buy only what you need."),
    ("How do I write a good email?", "Keep it short, polite and clear about what you need."),
    ("How can I make new friends?",
     "Join a club or a class and be friendly to the people you meet."),
    ("How do I keep my room tidy?", "Put each thing back in its place right after you use it."),
    ("How can I remember things better?",
     "Write them down and review them again the next day."),
    ("How do I start running?", "Start with short, slow runs and add a little more each week."),
    ("How do I cook rice?",
     "Rinse the rice, cook it in twice as much water and let it rest before serving."),
    ("How can I read more books?", "Read a few pages every evening before you sleep."),
    ("How do I take care of a cat?",
     "Give it food, fresh water, a clean litter box and lots of attention."),
    ("How do I take care of a plant?",
     "Give it enough light and water it when the soil feels dry."),
    ("What should I do if I feel sad?",
     "Talk to someone you trust, and be kind and patient with yourself."),
    ("What should I pack for a trip?",
     "Pack clothes for the weather, your documents and a charger for your phone."),
    ("How can I study for a test?",
     "Study in short sessions, test yourself and get a good night of sleep."),
    ("How can I drink more water?", "Keep a bottle of water near you and sip it often."),
    ("How can I focus better?",
     "Put your phone away and work on one task at a time."),
    ("What is a good hobby?", "Drawing is a good hobby because you only need paper and a "
     "pencil."),
    ("How can I be a good listener?",
     "Look at the speaker, do not interrupt and ask questions."),
    ("What should I eat for dinner?", "A simple soup with bread is a warm and easy dinner."),
    ("How do I fix a flat bicycle tire?",
     "Find the hole, patch the tube and pump the tire up again."),
    ("How can I wake up early?",
     "Go to bed earlier and put your alarm clock across the room."),
]

GREETINGS = [
    (["Hello!", "Hi!", "Hello", "Hi there!", "Hey!", "Good morning!", "Good evening!"],
     ["Hello! How can I help you today?", "Hi! What would you like to know?",
      "Hello! I am happy to help.", "Hi there! How can I help?"]),
    (["Thank you!", "Thanks!", "Thanks a lot.", "Thank you very much."],
     ["You are welcome!", "You're welcome! I am glad I could help.",
      "My pleasure!"]),
    (["Goodbye!", "Bye!", "See you later.", "Good night!"],
     ["Goodbye! Have a nice day.", "Bye! Take care.", "See you soon!"]),
    (["Who are you?", "What are you?", "Tell me about yourself."],
     ["I am a small assistant that answers short questions.",
      "I am a tiny language model. I try to give short, helpful answers."]),
    (["How are you?", "How are you today?", "How is it going?"],
     ["I am fine, thank you. How can I help you?", "I am doing well. What can I do for you?"]),
    (["What can you do?", "How can you help me?"],
     ["I can answer simple questions and help with short tasks.",
      "I can answer short questions about words, numbers, animals and everyday things."]),
    (["Tell me a joke.", "Do you know a joke?", "Say something funny."],
     ["Why did the cat sit on the computer? To keep an eye on the mouse.",
      "What do you call a sleeping bull? A bulldozer.",
      "Why did the tomato turn red? It saw the salad dressing.",
      "Why are fish so smart? Because they live in schools."]),
]

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a helpful assistant. Answer in one short sentence.",
    "You are a friendly assistant.",
    "You are a kind and patient teacher.",
    "You are a concise assistant. Keep answers short.",
    "You are a helpful assistant that answers questions clearly.",
    "Answer the user's question briefly.",
    "You are a polite assistant for children.",
]

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def cap(text: str) -> str:
    """Return ``text`` with its first character upper-cased.

    Args:
        text: Any string.

    Returns:
        The string with an upper-case first letter.
    """
    return text[:1].upper() + text[1:]


def with_article(thing: Thing) -> str:
    """Return the noun with its indefinite article, e.g. "an apple" or "bread".

    Args:
        thing: The thing to name.

    Returns:
        The noun phrase.
    """
    return f"{thing.article} {thing.name}" if thing.article else thing.name


def number_word(n: int) -> str:
    """Spell a number from 0 to 20 in English words.

    Args:
        n: The number.

    Returns:
        The English word, or the digits when ``n`` is above twenty.
    """
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def a_or_an(word: str) -> str:
    """Choose the indefinite article for ``word``.

    Args:
        word: The word that follows the article.

    Returns:
        "an" before a vowel letter, otherwise "a".
    """
    return "an" if word[:1].lower() in "aeiou" else "a"


def vary_question(rng: random.Random, question: str) -> str:
    """Apply small surface changes to a question so the model sees messy input too.

    Args:
        rng: Random source.
        question: A well-formed question.

    Returns:
        The question, sometimes lower-cased or without its final punctuation.
    """
    roll = rng.random()
    if roll < 0.08:
        return question.lower()
    if roll < 0.14:
        return question.rstrip("?.!")
    if roll < 0.18:
        return "Please tell me: " + question[:1].lower() + question[1:]
    return question


# ---------------------------------------------------------------------------------------------
# Chat question generators. Each returns one (question, answer) pair.
# ---------------------------------------------------------------------------------------------


def qa_definition(rng: random.Random) -> tuple[str, str]:
    """Ask what an animal or thing is."""
    if rng.random() < 0.35:
        animal = rng.choice(ANIMALS)
        noun, definition = f"{a_or_an(animal.name)} {animal.name}", animal.definition
    else:
        thing = rng.choice(THINGS)
        noun, definition = with_article(thing), thing.definition
    template = rng.choice([
        "What is {n}?", "Can you tell me what {n} is?", "Explain what {n} is.",
        "What does the word {w} mean?", "Define {w}.", "Describe {n} in one sentence.",
    ])
    word = noun.split(" ", 1)[-1] if " " in noun else noun
    question = template.format(n=noun, w=word)
    return question, f"{cap(noun)} is {definition}."


def qa_animal(rng: random.Random) -> tuple[str, str]:
    """Ask a fact about an animal: its sound, legs, home or color."""
    animal = rng.choice(ANIMALS)
    an = f"{a_or_an(animal.name)} {animal.name}"
    options = ["home", "color", "fact"]
    if animal.sound:
        options.append("sound")
    if animal.legs is not None:
        options.append("legs")
    kind = rng.choice(options)
    if kind == "sound":
        question = rng.choice([f"What sound does {an} make?", f"What noise does {an} make?"])
        return question, f"{cap(an)} {animal.sound}."
    if kind == "legs":
        legs = number_word(animal.legs) if animal.legs else "no"
        if rng.random() < 0.5:
            return f"How many legs does {an} have?", f"{cap(an)} has {legs} legs."
        return (f"How many legs do {animal.plural} have?",
                f"{cap(animal.plural)} have {legs} legs.")
    if kind == "home":
        if rng.random() < 0.5:
            return f"Where does {an} live?", f"{cap(an)} lives {animal.home}."
        return f"Where do {animal.plural} live?", f"{cap(animal.plural)} live {animal.home}."
    if kind == "color":
        question = f"What color is {an}?"
        return question, f"{cap(an)} is usually {animal.color}."
    question = rng.choice([f"Tell me a fact about {animal.plural}.",
                           f"Tell me something about {animal.plural}."])
    return question, f"{cap(an)} is {animal.definition}."


def qa_use(rng: random.Random) -> tuple[str, str]:
    """Ask what a thing is used for."""
    thing = rng.choice([t for t in THINGS if t.use])
    noun = with_article(thing)
    question = rng.choice([f"What is {noun} used for?", f"What do people use {noun} for?",
                           f"Why do we need {noun}?"])
    return question, f"People use {noun} to {thing.use}."


def qa_color(rng: random.Random) -> tuple[str, str]:
    """Ask the color of something."""
    thing, color = rng.choice(COLORED)
    question = rng.choice([f"What color is {thing}?", f"What is the color of {thing}?"])
    return question, f"{cap(thing)} is {color}."


def qa_opposite(rng: random.Random) -> tuple[str, str]:
    """Ask for the opposite of a word."""
    a, b = rng.choice(OPPOSITES)
    if rng.random() < 0.5:
        a, b = b, a
    question = rng.choice([f"What is the opposite of {a}?", f"What is the opposite of '{a}'?",
                           f"Give me the opposite of the word {a}."])
    return question, f"The opposite of {a} is {b}."


def qa_plural(rng: random.Random) -> tuple[str, str]:
    """Ask for a plural form."""
    single, plural = rng.choice(PLURALS)
    question = rng.choice([f"What is the plural of {single}?",
                           f"What is the plural form of the word {single}?"])
    return question, f"The plural of {single} is {plural}."


def qa_capital(rng: random.Random) -> tuple[str, str]:
    """Ask for a capital city or the country of a capital."""
    country, city = rng.choice(CAPITALS)
    if rng.random() < 0.7:
        question = rng.choice([f"What is the capital of {country}?",
                               f"Which city is the capital of {country}?"])
        return question, f"The capital of {country} is {city}."
    question = f"{city} is the capital of which country?"
    return question, f"{city} is the capital of {country}."


def qa_math(rng: random.Random) -> tuple[str, str]:
    """Ask a small arithmetic question with the correct answer."""
    op = rng.choice(["plus", "minus", "times", "plus", "minus"])
    if op == "plus":
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        c, sym = a + b, "+"
    elif op == "minus":
        a = rng.randint(0, 30)
        b = rng.randint(0, a)
        c, sym = a - b, "-"
    else:
        a, b = rng.randint(0, 10), rng.randint(0, 10)
        c, sym = a * b, "*"
    style = rng.random()
    if style < 0.5:
        return f"What is {a} {op} {b}?", f"{a} {op} {b} is {c}."
    if style < 0.8:
        return f"What is {a} {sym} {b}?", f"{a} {sym} {b} = {c}."
    return f"Calculate {a} {sym} {b}.", f"The answer is {c}."


def qa_numbers(rng: random.Random) -> tuple[str, str]:
    """Ask about counting order, number words or comparing numbers."""
    kind = rng.randrange(4)
    if kind == 0:
        n = rng.randint(0, 99)
        return (rng.choice([f"What number comes after {n}?", f"What comes after {n}?"]),
                f"The number after {n} is {n + 1}.")
    if kind == 1:
        n = rng.randint(1, 100)
        return f"What number comes before {n}?", f"The number before {n} is {n - 1}."
    if kind == 2:
        n = rng.randint(0, 20)
        return (f"How do you write {number_word(n)} as a number?",
                f"{cap(number_word(n))} is written as {n}.")
    a, b = rng.sample(range(0, 200), 2)
    return f"Which is bigger, {a} or {b}?", f"{max(a, b)} is bigger than {min(a, b)}."


def qa_calendar(rng: random.Random) -> tuple[str, str]:
    """Ask about days of the week, months and seasons."""
    kind = rng.randrange(5)
    if kind == 0:
        i = rng.randrange(7)
        return (f"What day comes after {DAYS[i]}?",
                f"The day after {DAYS[i]} is {DAYS[(i + 1) % 7]}.")
    if kind == 1:
        i = rng.randrange(7)
        return (f"What day comes before {DAYS[i]}?",
                f"The day before {DAYS[i]} is {DAYS[(i - 1) % 7]}.")
    if kind == 2:
        i = rng.randrange(12)
        return (f"What is the {ORDINALS[i]} month of the year?",
                f"The {ORDINALS[i]} month of the year is {MONTHS[i]}.")
    if kind == 3:
        i = rng.randrange(12)
        return (f"Which month comes after {MONTHS[i]}?",
                f"The month after {MONTHS[i]} is {MONTHS[(i + 1) % 12]}.")
    season, months = rng.choice(SEASONS)
    return (f"Which months are in {season}?",
            f"In the north of the world, {season} is {months}.")


def qa_letters(rng: random.Random) -> tuple[str, str]:
    """Ask about the letters of a word, or for a rhyme."""
    kind = rng.randrange(4)
    word = rng.choice(SPELL_WORDS)
    if kind == 0:
        return (f"How many letters are in the word {word}?",
                f"The word {word} has {number_word(len(word))} letters.")
    if kind == 1:
        return (f"What is the first letter of the word {word}?",
                f"The first letter of {word} is {word[0].upper()}.")
    if kind == 2:
        return f"How do you spell {word}?", f"{cap(word)} is spelled {'-'.join(word.upper())}."
    a, b = rng.choice(RHYMES)
    if rng.random() < 0.5:
        a, b = b, a
    return (rng.choice([f"Give me a word that rhymes with {a}.",
                        f"What rhymes with {a}?"]),
            f"{cap(b)} rhymes with {a}.")


def qa_compare(rng: random.Random) -> tuple[str, str]:
    """Ask which of two animals is bigger or smaller."""
    a, b = rng.sample(ANIMALS, 2)
    while a.size == b.size:
        a, b = rng.sample(ANIMALS, 2)
    big, small = (a, b) if a.size > b.size else (b, a)
    an_a, an_b = f"{a_or_an(a.name)} {a.name}", f"{a_or_an(b.name)} {b.name}"
    big_n = f"{a_or_an(big.name)} {big.name}"
    small_n = f"{a_or_an(small.name)} {small.name}"
    if rng.random() < 0.5:
        return f"Which is bigger, {an_a} or {an_b}?", f"{cap(big_n)} is bigger than {small_n}."
    return f"Which is smaller, {an_a} or {an_b}?", f"{cap(small_n)} is smaller than {big_n}."


def qa_job(rng: random.Random) -> tuple[str, str]:
    """Ask what a person in some job does."""
    job, does = rng.choice(JOBS)
    art = a_or_an(job)
    question = rng.choice([f"What does {art} {job} do?", f"What is the job of {art} {job}?"])
    return question, f"{cap(art)} {job} {does}."


def qa_general(rng: random.Random) -> tuple[str, str]:
    """Pick one hand-written everyday question."""
    return rng.choice(GENERAL_QA)


def qa_advice(rng: random.Random) -> tuple[str, str]:
    """Pick one hand-written advice question."""
    return rng.choice(ADVICE)


def qa_greeting(rng: random.Random) -> tuple[str, str]:
    """Pick a greeting, thanks, goodbye or question about the assistant."""
    questions, answers = rng.choice(GREETINGS)
    return rng.choice(questions), rng.choice(answers)


def qa_context(rng: random.Random) -> tuple[str, str]:
    """Ask about a fact stated in the same message, so the answer must be read from context."""
    kind = rng.randrange(9)
    name = rng.choice(NAMES)
    if kind == 0:
        return f"My name is {name}. What is my name?", f"Your name is {name}."
    if kind == 1:
        city = rng.choice(CITIES)
        return f"I live in {city}. Where do I live?", f"You live in {city}."
    if kind == 2:
        color = rng.choice(COLORS)
        return (f"My favorite color is {color}. What is my favorite color?",
                f"Your favorite color is {color}.")
    if kind == 3:
        n = rng.randint(2, 12)
        animal = rng.choice(ANIMALS)
        return (f"{name} has {n} {animal.plural}. How many {animal.plural} does {name} have?",
                f"{name} has {n} {animal.plural}.")
    if kind == 4:
        word = rng.choice(SECRET_WORDS)
        if rng.random() < 0.5:
            return f"The secret word is {word}. What is the secret word?", \
                f"The secret word is {word}."
        return (f"Remember this word: {word}. Which word did I ask you to remember?",
                f"You asked me to remember the word {word}.")
    if kind == 5:
        other = rng.choice([n for n in NAMES if n != name])
        if rng.random() < 0.5:
            return f"{name} is taller than {other}. Who is shorter?", f"{other} is shorter."
        return f"{name} is older than {other}. Who is younger?", f"{other} is younger."
    if kind == 6:
        items = rng.sample(SPELL_WORDS, 3)
        i = rng.randrange(3)
        return (f"Here is a list: {', '.join(items)}. What is the {ORDINALS[i]} word?",
                f"The {ORDINALS[i]} word is {items[i]}.")
    if kind == 7:
        sentence = make_simple_sentence(rng)
        return f"Repeat this sentence: {sentence}", sentence
    hobby = rng.choice(HOBBIES)
    return (f"{name} loves {hobby}. What does {name} love?", f"{name} loves {hobby}.")


def qa_sentence(rng: random.Random) -> tuple[str, str]:
    """Ask the assistant to write one short sentence about something."""
    if rng.random() < 0.5:
        animal = rng.choice(ANIMALS)
        adj = rng.choice(ADJECTIVES)
        place = rng.choice(PLACES)
        question = rng.choice([f"Write a short sentence about a {animal.name}.",
                               f"Write one sentence about {animal.plural}."])
        return question, f"The {adj} {animal.name} went to the {place} {rng.choice(TIMES)}."
    name = rng.choice(NAMES)
    hobby = rng.choice(HOBBIES)
    question = f"Write a sentence about {name} and {hobby}."
    return question, f"{name} enjoys {hobby} {rng.choice(TIMES)}."


QA_GENERATORS = [
    (qa_definition, 12), (qa_animal, 12), (qa_use, 6), (qa_color, 6), (qa_opposite, 6),
    (qa_plural, 4), (qa_capital, 6), (qa_math, 8), (qa_numbers, 5), (qa_calendar, 5),
    (qa_letters, 5), (qa_compare, 4), (qa_job, 5), (qa_general, 8), (qa_advice, 5),
    (qa_greeting, 5), (qa_context, 20), (qa_sentence, 3),
]


def random_qa(rng: random.Random) -> tuple[str, str]:
    """Draw one question and answer from the weighted generators.

    Args:
        rng: Random source.

    Returns:
        A (question, answer) pair.
    """
    funcs = [f for f, _ in QA_GENERATORS]
    weights = [w for _, w in QA_GENERATORS]
    question, answer = rng.choices(funcs, weights=weights)[0](rng)
    return vary_question(rng, question), answer


def make_conversation(rng: random.Random) -> list[dict[str, str]]:
    """Build one chat conversation with one to three user turns.

    Args:
        rng: Random source.

    Returns:
        The messages, each a dict with ``role`` and ``content``.
    """
    messages: list[dict[str, str]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    roll = rng.random()
    if roll < 0.08:
        # A conversation whose later turn depends on an earlier one.
        name = rng.choice(NAMES)
        messages += [
            {"role": "user", "content": rng.choice([f"Hi, my name is {name}.",
                                                    f"Hello! I am {name}."])},
            {"role": "assistant", "content": f"Nice to meet you, {name}! How can I help?"},
        ]
        if rng.random() < 0.5:
            question, answer = random_qa(rng)
            messages += [{"role": "user", "content": question},
                         {"role": "assistant", "content": answer}]
        messages += [{"role": "user", "content": "What is my name?"},
                     {"role": "assistant", "content": f"Your name is {name}."}]
        return messages
    turns = 1 if roll < 0.65 else (2 if roll < 0.9 else 3)
    for _ in range(turns):
        question, answer = random_qa(rng)
        messages += [{"role": "user", "content": question},
                     {"role": "assistant", "content": answer}]
    return messages


# ---------------------------------------------------------------------------------------------
# Plain text generators
# ---------------------------------------------------------------------------------------------


def make_simple_sentence(rng: random.Random) -> str:
    """Write one short, simple English sentence.

    Args:
        rng: Random source.

    Returns:
        The sentence, ending with a period.
    """
    name = rng.choice(NAMES)
    animal = rng.choice(ANIMALS)
    adj = rng.choice(ADJECTIVES)
    place = rng.choice(PLACES)
    templates = [
        f"The {adj} {animal.name} is in the {place}.",
        f"{name} sees a {adj} {animal.name} near the {place}.",
        f"{name} walks to the {place} {rng.choice(TIMES)}.",
        f"It is {rng.choice(WEATHER)} today, so {name} stays at home.",
        f"{name} likes {rng.choice(HOBBIES)}.",
        f"We eat {rng.choice(FOODS)} {rng.choice(TIMES)}.",
        f"My {animal.name} is {adj} and {rng.choice(ADJECTIVES)}.",
        f"The {place} is {rng.choice(['quiet', 'busy', 'big', 'small', 'new', 'old'])} "
        f"{rng.choice(TIMES)}.",
    ]
    return rng.choice(templates)


def paragraph_animal(rng: random.Random) -> str:
    """Describe an animal in a few simple sentences."""
    a = rng.choice(ANIMALS)
    an = f"{a_or_an(a.name)} {a.name}"
    parts = [f"{cap(an)} is {a.definition}.", f"{cap(a.plural)} live {a.home}."]
    if a.legs:
        parts.append(f"{cap(an)} has {number_word(a.legs)} legs.")
    elif a.legs == 0:
        parts.append(f"{cap(an)} has no legs.")
    if a.sound:
        parts.append(f"{cap(an)} {a.sound}.")
    parts.append(f"Most {a.plural} are {a.color}.")
    first, rest = parts[0], parts[1:]
    rng.shuffle(rest)
    return " ".join([first] + rest)


def paragraph_thing(rng: random.Random) -> str:
    """Describe an everyday thing in two or three sentences."""
    t = rng.choice(THINGS)
    noun = with_article(t)
    parts = [f"{cap(noun)} is {t.definition}."]
    if t.use:
        parts.append(f"People use {noun} to {t.use}.")
    others = [x for x in THINGS if x.kind == t.kind and x is not t]
    if others:
        other = rng.choice(others)
        parts.append(f"{cap(with_article(other))} is {other.definition}.")
    return " ".join(parts)


def paragraph_story(rng: random.Random) -> str:
    """Tell a short, simple story with a consistent main character."""
    name = rng.choice(NAMES)
    pron, poss = rng.choice([("he", "his"), ("she", "her"), ("they", "their")])
    verb_s = "" if pron == "they" else "s"
    be = "are" if pron == "they" else "is"
    animal = rng.choice(ANIMALS)
    adj = rng.choice(ADJECTIVES)
    place, place2 = rng.sample(PLACES, 2)
    friend = rng.choice([n for n in NAMES if n != name])
    day = rng.choice(DAYS)
    weather = rng.choice(WEATHER)
    food = rng.choice(FOODS)
    hobby = rng.choice(HOBBIES)
    feeling = rng.choice(FEELINGS)
    frame = rng.randrange(5)
    if frame == 0:
        return (f"On {day}, {name} woke up early. The weather was {weather}. "
                f"{cap(pron)} ate {food} for breakfast and walked to the {place}. "
                f"There {pron} met {friend}, who had a {adj} {animal.name}. "
                f"They talked and laughed until lunch. "
                f"In the evening {name} went home and felt {feeling}.")
    if frame == 1:
        every = rng.choice(["morning", "afternoon", "evening", "weekend", "day", "Sunday"])
        return (f"{name} has a {adj} {animal.name}. Every {every}, "
                f"{name} takes the {animal.name} to the {place}. "
                f"The {animal.name} likes the {place} very much. "
                f"One day the {animal.name} ran away to the {place2}. "
                f"{name} looked everywhere and finally found it there. "
                f"After that, {pron} kept the {animal.name} close.")
    if frame == 2:
        return (f"{name} loves {hobby}. {cap(pron)} practice{verb_s} {rng.choice(TIMES)}. "
                f"Last {day}, {friend} asked to join. "
                f"Together they spent the whole afternoon {hobby}. "
                f"{friend} said it was the best day of the week.")
    if frame == 3:
        job, does = rng.choice(JOBS)
        return (f"{name} is {a_or_an(job)} {job}. A {job} {does}. "
                f"Every morning {name} gets up at {rng.randint(5, 8)} o'clock. "
                f"{cap(poss)} work is hard, but {pron} {be} always {feeling} at the end "
                f"of the day.")
    n = rng.randint(2, 9)
    m = rng.randint(1, n)
    thing = rng.choice(["apples", "oranges", "books", "pencils", "cookies", "stamps", "eggs"])
    return (f"{name} had {number_word(n)} {thing}. {cap(pron)} gave {number_word(m)} to "
            f"{friend}. Now {name} has {number_word(n - m)} {thing} left. "
            f"{friend} said thank you and smiled.")


def paragraph_facts(rng: random.Random) -> str:
    """State a few true facts about time, places, words or numbers."""
    kind = rng.randrange(7)
    if kind == 0:
        i = rng.randrange(7)
        return (f"{DAYS[i]} is a day of the week. After {DAYS[i]} comes {DAYS[(i + 1) % 7]}. "
                f"A week has seven days, and Saturday and Sunday are the weekend.")
    if kind == 1:
        i = rng.randrange(12)
        return (f"{MONTHS[i]} is the {ORDINALS[i]} month of the year. "
                f"The month after {MONTHS[i]} is {MONTHS[(i + 1) % 12]}. "
                f"A year has twelve months.")
    if kind == 2:
        pairs = rng.sample(CAPITALS, 3)
        return " ".join(f"The capital of {c} is {city}." for c, city in pairs)
    if kind == 3:
        pairs = rng.sample(OPPOSITES, 3)
        return " ".join(f"The opposite of {a} is {b}." for a, b in pairs)
    if kind == 4:
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        return (f"If you have {a} and add {b}, you get {a + b}. "
                f"{a} plus {b} is {a + b}, and {a + b} minus {b} is {a}.")
    if kind == 5:
        pairs = rng.sample(COLORED, 3)
        return " ".join(f"{cap(t)} is {c}." for t, c in pairs)
    job, does = rng.choice(JOBS)
    job2, does2 = rng.choice(JOBS)
    return f"{cap(a_or_an(job))} {job} {does}. {cap(a_or_an(job2))} {job2} {does2}."


def paragraph_simple(rng: random.Random) -> str:
    """Join three to five unrelated simple sentences."""
    return " ".join(make_simple_sentence(rng) for _ in range(rng.randint(3, 5)))


PARAGRAPH_GENERATORS = [
    (paragraph_animal, 4), (paragraph_thing, 4), (paragraph_story, 6), (paragraph_facts, 4),
    (paragraph_simple, 2),
]


def make_paragraph(rng: random.Random) -> str:
    """Draw one paragraph from the weighted generators.

    Args:
        rng: Random source.

    Returns:
        One paragraph of simple English.
    """
    funcs = [f for f, _ in PARAGRAPH_GENERATORS]
    weights = [w for _, w in PARAGRAPH_GENERATORS]
    return rng.choices(funcs, weights=weights)[0](rng)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def generate(out_dir: Path, seed: int = SEED) -> dict[str, int]:
    """Write ``sentences.txt`` and ``chats.jsonl`` into ``out_dir``.

    Args:
        out_dir: Folder to write into; created if missing.
        seed: Seed of the random generator; the same seed gives the same bytes.

    Returns:
        A mapping from file name to the number of records written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    lines: list[str] = []
    size = 0
    while size < SENTENCES_TARGET_BYTES:
        line = make_paragraph(rng)
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    (out_dir / "sentences.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    records: list[str] = []
    size = 0
    while size < CHATS_TARGET_BYTES:
        record = json.dumps({"messages": make_conversation(rng)}, ensure_ascii=False)
        records.append(record)
        size += len(record.encode("utf-8")) + 1
    (out_dir / "chats.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    return {"sentences.txt": len(lines), "chats.jsonl": len(records)}


def main() -> None:
    """Parse arguments and write the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    counts = generate(args.out_dir, args.seed)
    for name, count in counts.items():
        path = args.out_dir / name
        print(f"{path}: {count} records, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
