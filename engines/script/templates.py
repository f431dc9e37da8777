"""The template writer's sentences, per language (English, Spanish, Portuguese, French, German).

A script is a guided look at the topic that asserts nothing about it: a hook, a framing sentence, then angles, the
questions a curious viewer can ask of any topic, in the order they are listed here, each opened by a connective that
places it ("First, …", "Next, …", "Finally, …"), and a closing sentence before the call to action. The writer only
knows the topic's name, so no sentence may claim a fact, a number, a study, an expert's view or a piece of history.

Sentences avoid putting an article, a contraction or an agreeing adjective next to the topic (`sobre {topic}`,
`sur {topic}`, `zum Thema {topic}`), so any topic the user types reads correctly whatever its gender and number; no
verb takes the topic as its subject and no pronoun stands for it (a sentence refers back to "the subject",
"el tema", "das Thema").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Angle:
    """One way of looking at the topic: a question that names it, a sharper question that follows from that one, and
    what to do with the answer. The writer takes the question alone, the first two, or all three."""

    question: str  # spoken after an opener: "First, {question}"
    detail: str
    step: str


@dataclass(frozen=True)
class Templates:
    hooks: tuple[str, ...]
    framings: tuple[str, ...]  # said before the first angle
    first: str  # the first angle's opener: "{}" is the question
    # the openers of the angles between the first and the last, in this order: one for each, so that a script of
    # every angle says none twice
    openers: tuple[str, ...]
    last: str
    angles: tuple[Angle, ...]  # in the order they are asked
    closings: tuple[str, ...]  # said after the last angle
    ctas: tuple[str, ...]
    title: str  # {Topic} is the topic with a capital first letter
    description: str  # {hook}, {seconds}, {topic}
    tags: tuple[str, ...]  # added after the topic's own words

    def sentences(self) -> list[str]:
        """Every sentence a script may speak, each opener with its `{}` left in."""
        parts = [*self.hooks, *self.framings, *self.closings, *self.ctas]
        for angle in self.angles:
            parts += [angle.question, angle.detail, angle.step]
        return parts


ENGLISH = Templates(
    hooks=(
        "Here is a simple way to look at {topic}, one question at a time.",
        "Stop scrolling for a moment, and let's think about {topic} together.",
        "Want to understand {topic} better? Start with the right questions.",
        "Let's take a closer look at {topic}, step by step.",
    ),
    framings=(
        "You do not need to be an expert on {topic} for this, only a few good questions.",
        "Instead of a list of claims about {topic}, here are questions to ask yourself.",
        "Think of this as a guided look at {topic}: nothing to memorise, only questions that help you see.",
    ),
    first="First, {}",
    openers=(
        "Next, {}",
        "Then {}",
        "After that, {}",
        "Now {}",
        "From there, {}",
        "Also {}",
        "Beyond that, {}",
        "One step further, {}",
        "Going deeper, {}",
        "Along the same line, {}",
        "Another way in, {}",
        "Building on that, {}",
        "Taking a step back, {}",
        "Looking closer, {}",
        "Before moving on, {}",
    ),
    last="Finally, {}",
    angles=(
        Angle(
            "make a list of everything that goes into {topic}.",
            "Which parts, materials or ideas would you name first?",
            "Keep that list close, because every question that follows builds on those parts.",
        ),
        Angle(
            "picture {topic} as a chain of steps, one after another.",
            "What has to happen first, and what comes next?",
            "Say the chain out loud, and notice where you hesitate.",
        ),
        Angle(
            "picture a map with {topic} in the middle.",
            "Which arrows point into the middle, and which arrows point out?",
            "Follow one arrow as far as you can, and see where the trail ends.",
        ),
        Angle(
            "ask where the edges of {topic} lie.",
            "What clearly belongs to the subject, and what only sits next to the subject?",
            "Draw that line for yourself, and look at the cases that are hard to place.",
        ),
        Angle(
            "look for the places where you meet {topic} in everyday life.",
            "Think of home, work, school, nature and the news.",
            "Pick the example closest to you, and keep that example in mind.",
        ),
        Angle(
            "notice what your senses could tell you about {topic}.",
            "What could you see, hear or touch, and what would stay hidden?",
            "Start from what you can notice directly, and treat everything else as a guess for now.",
        ),
        Angle(
            "imagine the smallest example of {topic} you can, and then the biggest.",
            "What stays the same between the two, and what changes?",
            "Hold on to whatever stays the same, and keep asking why.",
        ),
        Angle(
            "imagine changing one single thing about {topic}.",
            "What would you change, and what else would have to change along with that?",
            "Notice which changes spread far, and which stay small.",
        ),
        Angle(
            "compare {topic} with something you already know well.",
            "Where are the two alike, and where do the two part ways?",
            "Use the likeness as a foothold, and let the differences teach you the rest.",
        ),
        Angle(
            "ask who cares about {topic}, and why.",
            "Picture the people who use, study, build or worry about the subject.",
            "Notice where those people might want different things.",
        ),
        Angle(
            "ask what need or problem sits behind {topic}.",
            "Who would feel that need first, and how would you find out?",
            "Put the need into one plain sentence, and see how much of the subject that sentence explains.",
        ),
        Angle(
            "ask how ideas about {topic} could change over time.",
            "What might someone have asked long ago, and what might someone ask far in the future?",
            "Keep the question that would still matter in both times.",
        ),
        Angle(
            "imagine a world without {topic}.",
            "What would be missing, and who would notice first?",
            "Take a closer look at whatever you named first.",
        ),
        Angle(
            "ask what someone could easily get wrong about {topic}.",
            "Which simple explanation sounds right, but might leave something out?",
            "Before you believe any claim, ask how you could check that claim yourself.",
        ),
        Angle(
            "ask where reliable information about {topic} would come from.",
            "Who would measure, observe or test the subject, and how would you see the evidence?",
            "Prefer a source that shows how an answer was found, not just the answer.",
        ),
        Angle(
            "ask which questions about {topic} might still be open.",
            "Where would you expect careful people to disagree?",
            "Keep one open question for yourself, and come back to that question later.",
        ),
        Angle(
            "try to explain {topic} to a friend in three short sentences.",
            "Which words would you need, and which could you leave out?",
            "If the three sentences come easily, you have built your own picture of the subject.",
        ),
    ),
    closings=(
        "Put those answers together, and you have your own picture of {topic}.",
        "Ask those questions in that order whenever you meet {topic} again.",
        "None of this needs special knowledge, only curiosity and a little patience with {topic}.",
    ),
    ctas=(
        "Try these questions on {topic} yourself, and tell me in the comments what you found.",
        "If this helped you think about {topic}, follow for more guided questions like these.",
        "Share this with a friend, and ask each other these questions about {topic}.",
    ),
    title="{Topic}: questions worth asking",
    description="{hook} A {seconds}-second guided look at {topic}, in questions you can ask yourself.",
    tags=("shorts", "questions", "learning"),
)

SPANISH = Templates(
    hooks=(
        "Esta es una forma sencilla de mirar {topic}, una pregunta a la vez.",
        "Deja de deslizar un momento, y pensemos juntos sobre {topic}.",
        "¿Quieres entender mejor {topic}? Empieza por las preguntas correctas.",
        "Vamos a mirar de cerca {topic}, paso a paso.",
    ),
    framings=(
        "No hace falta saber mucho sobre {topic} para esto, bastan unas buenas preguntas.",
        "En lugar de una lista de datos sobre {topic}, aquí tienes preguntas para hacerte a ti mismo.",
        "Piensa en esto como una visita guiada por {topic}, sin nada que memorizar, solo preguntas que ayudan a ver.",
    ),
    first="Primero, {}",
    openers=(
        "Después, {}",
        "Luego, {}",
        "A continuación, {}",
        "Ahora, {}",
        "Desde ahí, {}",
        "Además, {}",
        "Más allá de eso, {}",
        "Un paso más allá, {}",
        "Yendo más a fondo, {}",
        "En la misma línea, {}",
        "Por otro camino, {}",
        "Sobre esa base, {}",
        "Con un poco de distancia, {}",
        "Mirando más de cerca, {}",
        "Antes de seguir, {}",
    ),
    last="Por último, {}",
    angles=(
        Angle(
            "haz una lista con todo lo que entra en {topic}.",
            "¿Qué partes, materiales o ideas nombrarías primero?",
            "Guarda esa lista cerca, porque cada pregunta que sigue se apoya en esas partes.",
        ),
        Angle(
            "piensa en {topic} como una cadena de pasos, uno tras otro.",
            "¿Qué tiene que pasar primero, y qué viene después?",
            "Repite la cadena en voz alta, y fíjate dónde dudas.",
        ),
        Angle(
            "dibuja en tu cabeza un mapa con {topic} en el centro.",
            "¿Qué flechas entran en ese centro, y qué flechas salen?",
            "Sigue una flecha tan lejos como puedas, y mira dónde termina el camino.",
        ),
        Angle(
            "pregúntate hasta dónde llega lo que llamamos {topic}.",
            "¿Qué forma parte del tema sin duda, y qué solo queda al lado?",
            "Traza esa línea por tu cuenta, y fíjate en los casos difíciles de ubicar.",
        ),
        Angle(
            "busca los lugares donde te encuentras con {topic} en la vida diaria.",
            "Piensa en casa, en el trabajo, en la escuela, en la naturaleza y en las noticias.",
            "Elige el ejemplo más cercano a ti, y tenlo presente.",
        ),
        Angle(
            "fíjate en lo que tus sentidos podrían decirte sobre {topic}.",
            "¿Qué podrías ver, oír o tocar, y qué quedaría oculto?",
            "Parte de lo que puedes notar directamente, y trata todo lo demás como una suposición, por ahora.",
        ),
        Angle(
            "imagina el ejemplo más pequeño posible relacionado con {topic}, y luego el más grande.",
            "¿Qué se mantiene igual entre los dos, y qué cambia?",
            "Quédate con lo que no cambia, y sigue preguntando por qué.",
        ),
        Angle(
            "imagina que cambias una sola cosa en {topic}.",
            "¿Qué cambiarías, y qué más tendría que cambiar con eso?",
            "Fíjate qué cambios llegan lejos, y cuáles se quedan pequeños.",
        ),
        Angle(
            "compara {topic} con algo que ya conoces bien.",
            "¿En qué se parecen los dos, y en qué se separan?",
            "Usa el parecido como punto de apoyo, y deja que las diferencias te enseñen el resto.",
        ),
        Angle(
            "pregúntate quién se preocupa por {topic}, y por qué.",
            "Imagina a quienes usan, estudian, construyen o temen el tema.",
            "Fíjate dónde esas personas podrían querer cosas distintas.",
        ),
        Angle(
            "pregúntate qué necesidad o qué problema se esconde tras {topic}.",
            "¿Quién sentiría esa necesidad primero, y cómo lo averiguarías?",
            "Pon esa necesidad en una frase sencilla, y mira cuánto del tema explica esa frase.",
        ),
        Angle(
            "pregúntate cómo podrían cambiar las ideas sobre {topic} con el tiempo.",
            "¿Qué habría preguntado alguien hace mucho, y qué podría preguntar alguien en un futuro lejano?",
            "Quédate con la pregunta que seguiría importando en ambas épocas.",
        ),
        Angle(
            "imagina un mundo sin {topic}.",
            "¿Qué faltaría, y quién sería el primero en notarlo?",
            "Mira más de cerca lo primero que nombraste.",
        ),
        Angle(
            "pregúntate qué se podría entender mal sobre {topic}.",
            "¿Qué explicación sencilla suena bien, pero quizá deja algo fuera?",
            "Antes de creer cualquier afirmación, pregúntate cómo podrías comprobarla por tu cuenta.",
        ),
        Angle(
            "pregúntate de dónde vendría información fiable sobre {topic}.",
            "¿Quién mediría, observaría o pondría a prueba el tema, y cómo verías las pruebas?",
            "Prefiere una fuente que muestre cómo se encontró una respuesta, no solo la respuesta.",
        ),
        Angle(
            "pregúntate qué preguntas sobre {topic} podrían seguir abiertas.",
            "¿Dónde esperarías que personas cuidadosas no estuvieran de acuerdo?",
            "Guarda una pregunta abierta para ti, y vuelve a ella más tarde.",
        ),
        Angle(
            "intenta explicarle {topic} a un amigo en tres frases cortas.",
            "¿Qué palabras necesitarías, y cuáles podrías dejar fuera?",
            "Si las tres frases te salen fácil, ya tienes tu propia imagen del tema.",
        ),
    ),
    closings=(
        "Junta esas respuestas, y tendrás tu propia idea sobre {topic}.",
        "Haz esas preguntas en ese orden cada vez que vuelvas a encontrarte con {topic}.",
        "Nada de esto exige saber mucho, solo curiosidad y un poco de paciencia con {topic}.",
    ),
    ctas=(
        "Prueba estas preguntas con {topic}, y cuéntame en los comentarios qué encontraste.",
        "Si esto te ayudó a pensar sobre {topic}, sígueme para más preguntas guiadas como estas.",
        "Compártelo con un amigo, y háganse juntos estas preguntas sobre {topic}.",
    ),
    title="{Topic}: preguntas que vale la pena hacerse",
    description="{hook} Una mirada guiada de {seconds} segundos sobre {topic}, con preguntas para hacerte tú.",
    tags=("shorts", "preguntas", "aprender"),
)

PORTUGUESE = Templates(
    hooks=(
        "Aqui vai um jeito simples de olhar para {topic}, uma pergunta de cada vez.",
        "Pare de rolar um instante, e vamos pensar juntos sobre {topic}.",
        "Quer entender melhor {topic}? Comece pelas perguntas certas.",
        "Vamos olhar com calma para {topic}, passo a passo.",
    ),
    framings=(
        "Você não precisa saber muito sobre {topic} para isso, bastam algumas boas perguntas.",
        "Em vez de uma lista de fatos sobre {topic}, aqui estão perguntas para você mesmo fazer.",
        "Pense nisto como um passeio guiado pelo assunto {topic}, sem nada para decorar, só perguntas que ajudam "
        "a ver.",
    ),
    first="Primeiro, {}",
    openers=(
        "Depois, {}",
        "Em seguida, {}",
        "Agora, {}",
        "A partir daí, {}",
        "Além disso, {}",
        "Mais adiante, {}",
        "Também {}",
        "Um passo além, {}",
        "Indo mais fundo, {}",
        "Na mesma linha, {}",
        "Por outro caminho, {}",
        "Com base nisso, {}",
        "Com um pouco de distância, {}",
        "Olhando mais de perto, {}",
        "Antes de seguir, {}",
    ),
    last="Por fim, {}",
    angles=(
        Angle(
            "faça uma lista com tudo o que compõe o assunto {topic}.",
            "Quais partes, materiais ou ideias você citaria primeiro?",
            "Guarde essa lista por perto, porque cada pergunta seguinte se apoia nessas partes.",
        ),
        Angle(
            "pense sobre {topic} como uma sequência de passos, um depois do outro.",
            "O que precisa acontecer primeiro, e o que vem depois?",
            "Repita essa sequência em voz alta, e repare onde você hesita.",
        ),
        Angle(
            "imagine um mapa com o assunto {topic} bem no centro.",
            "Quais setas entram nesse centro, e quais setas saem?",
            "Siga uma seta o mais longe que puder, e veja onde o caminho termina.",
        ),
        Angle(
            "pergunte até onde vai o assunto {topic}.",
            "O que faz parte do assunto com certeza, e o que só fica ao lado?",
            "Trace essa linha por conta própria, e repare nos casos difíceis de encaixar.",
        ),
        Angle(
            "procure os lugares onde você encontra o assunto {topic} no dia a dia.",
            "Pense em casa, no trabalho, na escola, na natureza e nas notícias.",
            "Escolha o exemplo mais próximo de você, e guarde esse exemplo na cabeça.",
        ),
        Angle(
            "repare no que os seus sentidos poderiam dizer sobre {topic}.",
            "O que você poderia ver, ouvir ou tocar, e o que ficaria escondido?",
            "Parta do que você consegue notar diretamente, e trate todo o resto como um palpite, por enquanto.",
        ),
        Angle(
            "imagine o menor exemplo possível ligado ao assunto {topic}, e depois o maior.",
            "O que continua igual entre os dois, e o que muda?",
            "Fique com o que não muda, e continue perguntando por quê.",
        ),
        Angle(
            "imagine mudar uma única coisa no assunto {topic}.",
            "O que você mudaria, e o que mais teria que mudar junto?",
            "Repare quais mudanças vão longe, e quais ficam pequenas.",
        ),
        Angle(
            "compare {topic} com algo que você já conhece bem.",
            "Em que os dois se parecem, e onde os dois se separam?",
            "Use a semelhança como ponto de apoio, e deixe as diferenças ensinarem o resto.",
        ),
        Angle(
            "pergunte quem se importa com {topic}, e por quê.",
            "Imagine quem usa, estuda, constrói ou teme o assunto.",
            "Repare onde essas pessoas poderiam querer coisas diferentes.",
        ),
        Angle(
            "pergunte que necessidade ou que problema está por trás do assunto {topic}.",
            "Quem sentiria essa necessidade primeiro, e como você ficaria sabendo?",
            "Coloque essa necessidade numa frase simples, e veja quanto do assunto essa frase explica.",
        ),
        Angle(
            "pergunte como as ideias sobre {topic} poderiam mudar com o tempo.",
            "O que alguém teria perguntado há muito tempo, e o que alguém poderia perguntar num futuro distante?",
            "Fique com a pergunta que continuaria importando nas duas épocas.",
        ),
        Angle(
            "imagine um mundo sem {topic}.",
            "O que faltaria, e quem seria o primeiro a perceber?",
            "Olhe mais de perto a primeira coisa que você citou.",
        ),
        Angle(
            "pergunte o que alguém poderia entender errado sobre {topic}.",
            "Qual explicação simples parece certa, mas talvez deixe algo de fora?",
            "Antes de acreditar em qualquer afirmação, pergunte como você poderia conferir essa afirmação.",
        ),
        Angle(
            "pergunte de onde viria informação confiável sobre {topic}.",
            "Quem mediria, observaria ou testaria o assunto, e como você veria as evidências?",
            "Prefira uma fonte que mostre como uma resposta foi encontrada, não só a resposta.",
        ),
        Angle(
            "pergunte quais questões sobre {topic} ainda poderiam estar em aberto.",
            "Onde você esperaria que pessoas cuidadosas discordassem?",
            "Guarde uma questão em aberto para você, e volte a ela mais tarde.",
        ),
        Angle(
            "tente explicar {topic} para um amigo em três frases curtas.",
            "De quais palavras você precisaria, e quais poderia deixar de fora?",
            "Se as três frases saírem fáceis, você já tem sua própria imagem do assunto.",
        ),
    ),
    closings=(
        "Junte essas respostas, e você terá sua própria ideia sobre {topic}.",
        "Faça essas perguntas nessa ordem sempre que voltar a encontrar o assunto {topic}.",
        "Nada disso exige saber muito, só curiosidade e um pouco de paciência com {topic}.",
    ),
    ctas=(
        "Teste essas perguntas com {topic}, e conte nos comentários o que você encontrou.",
        "Se isso ajudou você a pensar sobre {topic}, me siga para mais perguntas guiadas como estas.",
        "Mande para um amigo, e façam juntos essas perguntas sobre {topic}.",
    ),
    title="{Topic}: perguntas que valem a pena",
    description="{hook} Um olhar guiado de {seconds} segundos sobre {topic}, com perguntas para você mesmo fazer.",
    tags=("shorts", "perguntas", "aprender"),
)

# French puts a space before ? : ; and !, which would leave a lone mark as a caption word: these sentences use none.
FRENCH = Templates(
    hooks=(
        "Voici une façon simple de regarder {topic}, une question à la fois.",
        "Arrêtez-vous un instant, et réfléchissons ensemble sur {topic}.",
        "Pour mieux comprendre {topic}, commencez par les bonnes questions.",
        "Regardons {topic} de plus près, étape par étape.",
    ),
    framings=(
        "Pas besoin d'en savoir beaucoup pour cela, seulement de quelques bonnes questions sur {topic}.",
        "Au lieu d'une liste de faits sur {topic}, voici des questions à vous poser vous-même.",
        "Voyez ceci comme une visite guidée sur {topic}, sans rien à retenir par cœur, seulement des questions qui "
        "aident à voir.",
    ),
    first="D'abord, {}",
    openers=(
        "Ensuite, {}",
        "Puis {}",
        "Après cela, {}",
        "Maintenant, {}",
        "À partir de là, {}",
        "De plus, {}",
        "Sous un autre angle, {}",
        "Un pas plus loin, {}",
        "Plus en profondeur, {}",
        "Dans la même veine, {}",
        "Par ailleurs, {}",
        "Sur cette base, {}",
        "Avec un peu de recul, {}",
        "En regardant de plus près, {}",
        "Avant de continuer, {}",
    ),
    last="Enfin, {}",
    angles=(
        Angle(
            "faites la liste de tout ce qui entre dans {topic}.",
            "Demandez-vous quelles parties, quelles matières ou quelles idées vous citeriez en premier.",
            "Gardez cette liste près de vous, car chaque question qui suit s'appuie sur ces parties.",
        ),
        Angle(
            "voyez {topic} comme une suite d'étapes, l'une après l'autre.",
            "Demandez-vous ce qui doit arriver en premier, et ce qui vient ensuite.",
            "Répétez cette suite à voix haute, et remarquez où vous hésitez.",
        ),
        Angle(
            "imaginez une carte avec {topic} au centre.",
            "Cherchez quelles flèches entrent dans ce centre, et quelles flèches en sortent.",
            "Suivez une flèche aussi loin que possible, et voyez où mène le chemin.",
        ),
        Angle(
            "demandez-vous jusqu'où s'étend ce qu'on appelle {topic}.",
            "Cherchez ce qui fait clairement partie du sujet, et ce qui reste seulement à côté.",
            "Tracez cette limite vous-même, et regardez les cas difficiles à classer.",
        ),
        Angle(
            "cherchez les endroits où vous croisez {topic} au quotidien.",
            "Pensez à la maison, au travail, à l'école, à la nature et aux informations.",
            "Choisissez l'exemple le plus proche de vous, et gardez cet exemple en tête.",
        ),
        Angle(
            "notez ce que vos sens pourraient vous apprendre sur {topic}.",
            "Demandez-vous ce que vous pourriez voir, entendre ou toucher, et ce qui resterait caché.",
            "Partez de ce que vous pouvez remarquer directement, et traitez tout le reste comme une hypothèse, "
            "pour l'instant.",
        ),
        Angle(
            "imaginez, pour {topic}, le plus petit exemple possible, puis le plus grand.",
            "Notez ce qui reste pareil entre les deux, et ce qui change.",
            "Gardez ce qui ne change pas, et continuez à demander pourquoi.",
        ),
        Angle(
            "imaginez qu'on change une seule chose dans {topic}.",
            "Demandez-vous ce que vous changeriez, et ce qui devrait changer en même temps.",
            "Remarquez quels changements vont loin, et lesquels restent petits.",
        ),
        Angle(
            "comparez {topic} avec quelque chose que vous connaissez déjà bien.",
            "Cherchez en quoi les deux se ressemblent, et où leurs chemins se séparent.",
            "Servez-vous de la ressemblance comme d'un appui, et laissez les différences vous apprendre le reste.",
        ),
        Angle(
            "demandez-vous qui est concerné par {topic}, et pourquoi.",
            "Imaginez les personnes qui utilisent, étudient, construisent ou craignent ce sujet.",
            "Remarquez où ces personnes pourraient vouloir des choses différentes.",
        ),
        Angle(
            "demandez-vous quel besoin ou quel problème se cache derrière {topic}.",
            "Cherchez qui ressentirait ce besoin en premier, et comment vous le sauriez.",
            "Formulez ce besoin en une phrase simple, et voyez quelle part du sujet cette phrase explique.",
        ),
        Angle(
            "demandez-vous comment les idées sur {topic} pourraient changer avec le temps.",
            "Cherchez ce que quelqu'un aurait demandé il y a très longtemps, et ce que quelqu'un pourrait demander "
            "dans un futur lointain.",
            "Gardez la question qui compterait encore aux deux époques.",
        ),
        Angle(
            "imaginez un monde sans {topic}.",
            "Demandez-vous ce qui manquerait, et qui le remarquerait en premier.",
            "Regardez de plus près la première chose que vous avez nommée.",
        ),
        Angle(
            "demandez-vous ce qu'on pourrait mal comprendre concernant {topic}.",
            "Cherchez l'explication simple qui sonne juste, mais qui laisse peut-être quelque chose de côté.",
            "Avant de croire une affirmation, demandez-vous comment vous pourriez la vérifier vous-même.",
        ),
        Angle(
            "demandez-vous d'où viendrait une information fiable concernant {topic}.",
            "Demandez-vous qui mesurerait, observerait ou testerait ce sujet, et comment vous verriez les preuves.",
            "Préférez une source qui montre comment une réponse a été trouvée, pas seulement la réponse.",
        ),
        Angle(
            "demandez-vous quelles questions sur {topic} pourraient rester ouvertes.",
            "Cherchez où des personnes attentives pourraient ne pas être d'accord.",
            "Gardez une question ouverte pour vous, et revenez-y plus tard.",
        ),
        Angle(
            "essayez d'expliquer {topic} à un ami en trois phrases courtes.",
            "Demandez-vous de quels mots vous auriez besoin, et lesquels vous pourriez laisser de côté.",
            "Si les trois phrases viennent facilement, vous avez déjà votre propre image de ce sujet.",
        ),
    ),
    closings=(
        "Rassemblez ces réponses, et vous aurez votre propre idée sur {topic}.",
        "Posez ces questions dans cet ordre chaque fois que vous retrouverez {topic}.",
        "Rien de tout cela ne demande de savoir beaucoup, seulement de la curiosité et un peu de patience avec "
        "{topic}.",
    ),
    ctas=(
        "Essayez ces questions sur {topic}, et dites-moi en commentaire ce que vous avez trouvé.",
        "Si cela vous a aidé à réfléchir sur {topic}, abonnez-vous pour d'autres questions guidées comme celles-ci.",
        "Partagez ceci avec un ami, et posez-vous ensemble ces questions sur {topic}.",
    ),
    title="{Topic} : les bonnes questions à se poser",
    description="{hook} Un regard guidé de {seconds} secondes sur {topic}, en questions à vous poser vous-même.",
    tags=("shorts", "questions", "apprendre"),
)

GERMAN = Templates(
    hooks=(
        "Hier ist ein einfacher Weg, das Thema {topic} anzuschauen, eine Frage nach der anderen.",
        "Hör kurz auf zu scrollen, und lass uns gemeinsam über das Thema {topic} nachdenken.",
        "Du willst das Thema {topic} verstehen? Fang mit den richtigen Fragen an.",
        "Schauen wir uns das Thema {topic} genauer an, Schritt für Schritt.",
    ),
    framings=(
        "Dafür musst du nicht viel über das Thema {topic} wissen, ein paar gute Fragen reichen.",
        "Statt einer Liste von Fakten zum Thema {topic} bekommst du hier Fragen, die du dir selbst stellen kannst.",
        "Sieh das als geführten Blick auf das Thema {topic}, ohne etwas auswendig zu lernen, nur mit Fragen, die "
        "beim Sehen helfen.",
    ),
    first="Erstens: {}",
    openers=(
        "Als Nächstes: {}",
        "Dann: {}",
        "Danach: {}",
        "Jetzt: {}",
        "Von dort aus: {}",
        "Außerdem: {}",
        "Aus einem anderen Blickwinkel: {}",
        "Einen Schritt weiter: {}",
        "Noch tiefer: {}",
        "In dieselbe Richtung: {}",
        "Ein anderer Zugang: {}",
        "Darauf aufbauend: {}",
        "Mit etwas Abstand: {}",
        "Genauer betrachtet: {}",
        "Bevor es weitergeht: {}",
    ),
    last="Zum Schluss: {}",
    angles=(
        Angle(
            "Mach eine Liste von allem, was zum Thema {topic} gehört.",
            "Welche Teile, Stoffe oder Ideen würdest du zuerst nennen?",
            "Behalte diese Liste in der Nähe, denn jede folgende Frage baut auf diesen Teilen auf.",
        ),
        Angle(
            "Sieh das Thema {topic} als eine Kette von Schritten, einen nach dem anderen.",
            "Was muss zuerst passieren, und was kommt danach?",
            "Sag die Kette laut auf, und achte darauf, wo du zögerst.",
        ),
        Angle(
            "Stell dir eine Karte vor, mit dem Thema {topic} in der Mitte.",
            "Welche Pfeile zeigen in die Mitte, und welche Pfeile zeigen hinaus?",
            "Folge einem Pfeil, so weit du kannst, und schau, wo der Weg endet.",
        ),
        Angle(
            "Frag dich, wie weit das Thema {topic} reicht.",
            "Was gehört eindeutig zum Thema, und was liegt nur daneben?",
            "Zieh diese Grenze selbst, und schau dir die Fälle an, die schwer einzuordnen sind.",
        ),
        Angle(
            "Such nach Orten, an denen dir das Thema {topic} im Alltag begegnet.",
            "Denk an Zuhause, an die Arbeit, an die Schule, an die Natur und an die Nachrichten.",
            "Nimm das Beispiel, das dir am nächsten ist, und behalte dieses Beispiel im Kopf.",
        ),
        Angle(
            "Achte darauf, was dir deine Sinne über das Thema {topic} sagen könnten.",
            "Was könntest du sehen, hören oder anfassen, und was bliebe verborgen?",
            "Geh von dem aus, was du direkt wahrnehmen kannst, und behandle alles andere vorerst als Vermutung.",
        ),
        Angle(
            "Stell dir zum Thema {topic} das kleinste mögliche Beispiel vor, und dann das größte.",
            "Was bleibt zwischen den beiden gleich, und was ändert sich?",
            "Halte fest, was gleich bleibt, und frag weiter nach dem Warum.",
        ),
        Angle(
            "Stell dir vor, du änderst beim Thema {topic} eine einzige Sache.",
            "Was würdest du ändern, und was müsste sich dann noch alles mitändern?",
            "Merk dir, welche Änderungen weite Kreise ziehen, und welche klein bleiben.",
        ),
        Angle(
            "Vergleiche das Thema {topic} mit etwas, das du schon gut kennst.",
            "Wo ähneln sich die beiden, und wo trennen sich die Wege?",
            "Nutze die Ähnlichkeit als Halt, und lass dir von den Unterschieden den Rest zeigen.",
        ),
        Angle(
            "Frag dich, wem das Thema {topic} wichtig ist, und warum.",
            "Denk an die Menschen, die dieses Thema nutzen, erforschen, bauen oder fürchten.",
            "Achte darauf, wo diese Menschen Verschiedenes wollen könnten.",
        ),
        Angle(
            "Frag dich, welches Bedürfnis oder welches Problem hinter dem Thema {topic} steckt.",
            "Wer würde dieses Bedürfnis zuerst spüren, und wie würdest du das herausfinden?",
            "Fass dieses Bedürfnis in einen einfachen Satz, und schau, wie viel vom Thema dieser Satz erklärt.",
        ),
        Angle(
            "Frag dich, wie sich die Ideen zum Thema {topic} mit der Zeit ändern könnten.",
            "Was hätte jemand vor langer Zeit gefragt, und was könnte jemand in ferner Zukunft fragen?",
            "Behalte die Frage, die in beiden Zeiten noch zählen würde.",
        ),
        Angle(
            "Stell dir eine Welt ganz ohne das Thema {topic} vor.",
            "Was würde fehlen, und wer würde das zuerst bemerken?",
            "Schau dir genauer an, was du als Erstes genannt hast.",
        ),
        Angle(
            "Frag dich, was man beim Thema {topic} leicht falsch verstehen könnte.",
            "Welche einfache Erklärung klingt richtig, lässt aber vielleicht etwas weg?",
            "Bevor du einer Behauptung glaubst, frag dich, wie du diese Behauptung selbst prüfen könntest.",
        ),
        Angle(
            "Frag dich, woher verlässliche Informationen zum Thema {topic} kämen.",
            "Wer würde dieses Thema messen, beobachten oder testen, und wie würdest du die Belege sehen?",
            "Bevorzuge eine Quelle, die zeigt, wie eine Antwort gefunden wurde, nicht nur die Antwort.",
        ),
        Angle(
            "Frag dich, welche Fragen zum Thema {topic} noch offen sein könnten.",
            "Wo würdest du erwarten, dass sorgfältige Menschen uneins sind?",
            "Behalte eine offene Frage für dich, und komm später auf diese Frage zurück.",
        ),
        Angle(
            "Versuch, das Thema {topic} einem Freund in drei kurzen Sätzen zu erklären.",
            "Welche Wörter bräuchtest du, und welche könntest du weglassen?",
            "Wenn dir die drei Sätze leichtfallen, hast du schon dein eigenes Bild von diesem Thema.",
        ),
    ),
    closings=(
        "Setz diese Antworten zusammen, und du hast dein eigenes Bild vom Thema {topic}.",
        "Stell diese Fragen in dieser Reihenfolge, wann immer dir das Thema {topic} wieder begegnet.",
        "Nichts davon verlangt Vorwissen, nur Neugier und ein wenig Geduld mit dem Thema {topic}.",
    ),
    ctas=(
        "Probier diese Fragen am Thema {topic} selbst aus, und schreib mir in die Kommentare, was du gefunden hast.",
        "Wenn dir das beim Thema {topic} geholfen hat, folge für mehr Fragen wie diese.",
        "Teile das, und stellt euch gemeinsam diese Fragen zum Thema {topic}.",
    ),
    title="{Topic}: Fragen, die sich lohnen",
    description="{hook} Ein geführter Blick von {seconds} Sekunden auf das Thema {topic}, in Fragen an dich selbst.",
    tags=("shorts", "fragen", "lernen"),
)

BY_LANGUAGE = {"en": ENGLISH, "es": SPANISH, "pt": PORTUGUESE, "fr": FRENCH, "de": GERMAN}
